// Policy evaluation: AWS's logic for a request that meets a resource-based policy (a KMS key
// policy, a role trust policy) and the caller's identity-based policies.
//
// AWS KMS Developer Guide, "Determining access to an AWS KMS key" / IAM "Policy evaluation logic":
// 1. "An explicit deny in any policy overrides an allow." (key policy, identity policies)
// 2. "Every KMS key must have a key policy" and "no AWS principal, including the account root
//    user, has any permissions to a KMS key unless the key policy allows it": the key policy must
//    allow, either naming the principal (its user/role/session ARN, or "*"), or naming the
//    account ("arn:aws:iam::111122223333:root"), which "allows IAM policies in the account to
//    control access": then an identity-based policy must also allow.
// 3. A grant that allows the operation is enough when nothing denies (grants are evaluated by
//    the caller and passed in as `grantAllows`).
// 4. Otherwise: implicit deny.
// Without a resource-based policy (rekey's admin API), identity-based policies alone decide.
import { AccessDeniedException } from '../../errors.ts';
import { compilePolicy, isRootArn, type CompiledPolicy, type CompiledStatement, type PrincipalMatch, type PrincipalRef } from './compile.ts';
import { ContextView, type RequestContext } from './conditions.ts';

export type PolicyType = 'resource' | 'identity';

export interface AuthorizeInput {
  principal: PrincipalRef;
  /** Service-prefixed action, e.g. "kms:Encrypt". */
  action: string;
  /** The resource ARN, e.g. the key ARN. */
  resource: string;
  /** The resource-based policy (KMS key policy or role trust policy). Omit for identity-only evaluation. */
  keyPolicy?: string | CompiledPolicy;
  /** The caller's identity-based policies (documents or compiled). */
  identityPolicies: readonly (string | CompiledPolicy)[];
  context: RequestContext;
  /** A grant allows this operation (KMS grants; evaluated by the caller). */
  grantAllows?: boolean;
  /** The account owning the resource; default: the account field of the resource ARN. */
  resourceAccountId?: string;
}

export interface MatchedStatement {
  policy: PolicyType;
  /** Inline policy name (identity) when known. */
  policyName?: string;
  /** Zero-based statement index in its policy, and its Sid. */
  index: number;
  sid?: string;
  effect: 'Allow' | 'Deny';
}

export interface Decision {
  allowed: boolean;
  reason: 'allowed' | 'explicitDeny' | 'implicitDeny';
  /** explicitDeny: where the deny is; implicitDeny: the policy type that did not allow. */
  policyType?: PolicyType;
  /** How an allowed request was allowed. */
  via?: 'resource' | 'resource+identity' | 'identity' | 'grant';
  /** The statements that decided. */
  matched?: MatchedStatement[];
}

function resourceAccount(input: AuthorizeInput): string {
  if (input.resourceAccountId) return input.resourceAccountId;
  // arn:partition:service:region:account:resource
  const r = input.resource;
  if (r.startsWith('arn:')) {
    let i = 3;
    for (let n = 0; n < 3 && i >= 0; n++) i = r.indexOf(':', i + 1);
    const j = i < 0 ? -1 : r.indexOf(':', i + 1);
    if (j > i + 1) return r.slice(i + 1, j);
  }
  return input.principal.accountId;
}

function statementApplies(st: CompiledStatement, action: string, resource: string, ctx: ContextView): boolean {
  if (st.action.set.test(action) === st.action.not) return false;
  if (st.resource && st.resource.set.test(resource) === st.resource.not) return false;
  return st.condition === undefined || st.condition(ctx);
}

function principalMatch(st: CompiledStatement, p: PrincipalRef): PrincipalMatch {
  if (!st.principal) return 'direct';
  const m = st.principal.m.match(p);
  // NotPrincipal: applies to every principal it does not name. Naming the account in
  // NotPrincipal exempts only the account's root user (AWS recommends naming the exact ARNs).
  if (st.principal.not) return m === 'direct' ? 'none' : 'direct';
  return m;
}

function matched(policy: PolicyType, p: CompiledPolicy, st: CompiledStatement): MatchedStatement {
  const m: MatchedStatement = { policy, index: st.index, effect: st.effect };
  if (st.sid) m.sid = st.sid;
  if (p.name) m.policyName = p.name;
  return m;
}

export function authorize(input: AuthorizeInput): Decision {
  const action = input.action.toLowerCase();
  const resource = input.resource;
  const ctx = new ContextView(input.context);
  const p = input.principal;
  const rp = input.keyPolicy === undefined ? undefined : typeof input.keyPolicy === 'string' ? compilePolicy(input.keyPolicy, 'resource') : input.keyPolicy;
  const ips: CompiledPolicy[] = [];
  for (const x of input.identityPolicies) ips.push(typeof x === 'string' ? compilePolicy(x, 'identity') : x);

  // 1. Explicit deny anywhere wins. Resource-policy denies are checked first so the reported
  //    policy type does not depend on statement order.
  if (rp) {
    for (const st of rp.denies) {
      if (principalMatch(st, p) !== 'none' && statementApplies(st, action, resource, ctx)) {
        return { allowed: false, reason: 'explicitDeny', policyType: 'resource', matched: [matched('resource', rp, st)] };
      }
    }
  }
  for (const ip of ips) {
    for (const st of ip.denies) {
      if (statementApplies(st, action, resource, ctx)) return { allowed: false, reason: 'explicitDeny', policyType: 'identity', matched: [matched('identity', ip, st)] };
    }
  }

  // 2. Identity-based allow. The account's root user has every permission its account's
  //    resource policies delegate to IAM.
  const sameAccount = p.accountId === resourceAccount(input);
  let identityAllow: MatchedStatement | undefined | null = isRootArn(p.arn) && sameAccount ? null : undefined;
  if (identityAllow === undefined) {
    outer: for (const ip of ips) {
      for (const st of ip.allows) {
        if (statementApplies(st, action, resource, ctx)) {
          identityAllow = matched('identity', ip, st);
          break outer;
        }
      }
    }
  }
  const hasIdentityAllow = identityAllow !== undefined;
  const identityMatched = identityAllow ? [identityAllow] : [];

  if (!rp) {
    if (hasIdentityAllow) return { allowed: true, reason: 'allowed', via: 'identity', matched: identityMatched };
    if (input.grantAllows) return { allowed: true, reason: 'allowed', via: 'grant' };
    return { allowed: false, reason: 'implicitDeny', policyType: 'identity' };
  }

  // 3. The resource policy must allow: directly, or through the account (IAM delegation).
  let direct: CompiledStatement | undefined;
  let viaAccount: CompiledStatement | undefined;
  for (const st of rp.allows) {
    const m = principalMatch(st, p);
    if (m === 'none' || (m === 'account' && viaAccount) || !statementApplies(st, action, resource, ctx)) continue;
    if (m === 'direct') {
      direct = st;
      break;
    }
    viaAccount = st;
  }
  // AWS: across accounts, both the key policy and the caller's IAM policies must allow.
  if (direct && sameAccount) return { allowed: true, reason: 'allowed', via: 'resource', matched: [matched('resource', rp, direct)] };
  const rs = direct ?? viaAccount;
  if (rs && hasIdentityAllow) return { allowed: true, reason: 'allowed', via: 'resource+identity', matched: [matched('resource', rp, rs), ...identityMatched] };
  if (input.grantAllows) return { allowed: true, reason: 'allowed', via: 'grant' };
  return { allowed: false, reason: 'implicitDeny', policyType: rs ? 'identity' : 'resource' };
}

/**
 * AWS's AccessDenied message (IAM User Guide, "Access denied error messages"):
 *   User: <arn> is not authorized to perform: <action> on resource: <arn> because no resource-based policy allows the <action> action
 *   User: <arn> is not authorized to perform: <action> on resource: <arn> because no identity-based policy allows the <action> action
 *   User: <arn> is not authorized to perform: <action> on resource: <arn> with an explicit deny in a resource-based policy
 *   User: <arn> is not authorized to perform: <action> on resource: <arn> with an explicit deny in an identity-based policy
 */
export function accessDeniedMessage(d: Decision, callerArn: string, action: string, resource: string): string {
  const head = `User: ${callerArn} is not authorized to perform: ${action} on resource: ${resource}`;
  if (d.reason === 'explicitDeny') return `${head} with an explicit deny in ${d.policyType === 'resource' ? 'a resource-based policy' : 'an identity-based policy'}`;
  return `${head} because no ${d.policyType ?? 'identity'}-based policy allows the ${action} action`;
}

/** authorize(), throwing AccessDeniedException with AWS's message when the request is denied. */
export function authorizeOrThrow(input: AuthorizeInput): Decision {
  const d = authorize(input);
  if (!d.allowed) throw new AccessDeniedException(accessDeniedMessage(d, input.principal.arn, input.action, input.resource));
  return d;
}
