// Policies are parsed and compiled once, then cached by document text (V8 keeps a string's hash
// in the string, so a cache hit for the same stored policy string costs a map lookup). Evaluation
// then runs closures only: no JSON, no regular expressions built per request.
import { parsePolicy, type PolicyKind, type PolicySpec, type PrincipalSpec, type StatementSpec } from './parse.ts';
import { compilePatterns, type PatternSet } from './wildcard.ts';
import { compileConditions, type Predicate } from './conditions.ts';

/** Who is asking, as policy evaluation sees it. */
export interface PrincipalRef {
  /** The caller's ARN: a user, the account root, or an assumed-role session (arn:aws:sts::...). */
  arn: string;
  accountId: string;
  /** For an assumed-role session: the role's ARN (matches a Principal that names the role). */
  roleArn?: string;
  /** An AWS service principal (e.g. "kms.amazonaws.com"), for service-to-service calls. */
  service?: string;
}

/** How a Principal element matched: named directly (or "*"), through the account, or not at all. */
export type PrincipalMatch = 'direct' | 'account' | 'none';

export interface CompiledPrincipal {
  match(p: PrincipalRef): PrincipalMatch;
}

function accountOfRoot(arn: string): string | undefined {
  if (!arn.endsWith(':root')) return undefined;
  const m = /^arn:[\w-]+:iam::(\d{12}):root$/.exec(arn);
  return m?.[1];
}

export function isRootArn(arn: string): boolean {
  return accountOfRoot(arn) !== undefined;
}

function compilePrincipal(spec: PrincipalSpec): CompiledPrincipal {
  const arns = new Set<string>();
  const accounts = new Set<string>();
  for (const a of spec.aws) {
    if (/^\d{12}$/.test(a)) accounts.add(a);
    else {
      const acct = accountOfRoot(a);
      if (acct) accounts.add(acct);
      else arns.add(a);
    }
  }
  const services = new Set(spec.service);
  const any = spec.any;
  return {
    match(p: PrincipalRef): PrincipalMatch {
      if (any) return 'direct';
      if (p.service !== undefined) return services.has(p.service) || services.has('*') ? 'direct' : 'none';
      if (arns.has(p.arn) || (p.roleArn !== undefined && arns.has(p.roleArn))) return 'direct';
      if (accounts.has(p.accountId)) {
        // AWS: "arn:aws:iam::111122223333:root" (or the account id) names the account; the root
        // user itself is named directly, every other principal in the account only through IAM.
        return isRootArn(p.arn) ? 'direct' : 'account';
      }
      return 'none';
    },
  };
}

export interface CompiledStatement {
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  readonly principal: { not: boolean; m: CompiledPrincipal } | undefined;
  /** Matches a lower-cased action name (AWS: action names are case-insensitive). */
  readonly action: { not: boolean; set: PatternSet };
  /** Case-sensitive, ARN-aware wildcard match. */
  readonly resource: { not: boolean; set: PatternSet } | undefined;
  readonly condition: Predicate | undefined;
}

export interface CompiledPolicy {
  readonly kind: PolicyKind;
  readonly spec: PolicySpec;
  readonly statements: readonly CompiledStatement[];
  readonly allows: readonly CompiledStatement[];
  readonly denies: readonly CompiledStatement[];
  /** Display name in decisions and messages (inline policy name), if any. */
  readonly name?: string;
}

function compileStatement(s: StatementSpec): CompiledStatement {
  return {
    index: s.index,
    sid: s.sid,
    effect: s.effect,
    principal: s.principal ? { not: s.principal.not, m: compilePrincipal(s.principal.spec) } : undefined,
    action: { not: s.action.not, set: compilePatterns(s.action.values, { fold: true, arn: false }) },
    resource: s.resource ? { not: s.resource.not, set: compilePatterns(s.resource.values, { fold: false, arn: true }) } : undefined,
    condition: compileConditions(s.conditions),
  };
}

export function compileSpec(spec: PolicySpec, kind: PolicyKind, name?: string): CompiledPolicy {
  const statements = spec.statements.map(compileStatement);
  return {
    kind, spec, statements,
    allows: statements.filter((s) => s.effect === 'Allow'),
    denies: statements.filter((s) => s.effect === 'Deny'),
    ...(name !== undefined ? { name } : {}),
  };
}

const MAX_CACHED = 2048;
const caches: Record<PolicyKind, Map<string, CompiledPolicy>> = { identity: new Map(), resource: new Map(), trust: new Map() };

/**
 * Parses, validates and compiles a policy document, or returns the cached compilation of the same
 * text. Throws MalformedPolicyDocumentException for an invalid document.
 */
export function compilePolicy(text: string, kind: PolicyKind): CompiledPolicy {
  const cache = caches[kind];
  const hit = cache.get(text);
  if (hit) return hit;
  const compiled = compileSpec(parsePolicy(text, kind), kind);
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(text, compiled);
  return compiled;
}
