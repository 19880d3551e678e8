// Key-policy analysis for two rules: separation of duties (one principal may both administer and use
// the key) and key administration without MFA. Read from the policy text with the IAM parser, not
// evaluated: a statement "allows" an action when its Action (or NotAction) covers it.
//
// Principals are the "AWS" values of Allow statements. An account principal (an account id or
// arn:aws:iam::<account>:root) delegates to the account's identity policies, as AWS's default key
// policy does; it is not one principal, so it is not judged here. "*" is judged (anyone).
import { parsePolicy, type StatementSpec } from '../iam/policy/parse.ts';
import { globMatch } from '../iam/policy/wildcard.ts';

/** Actions that administer a key (the brief's set: policy, deletion, disabling). */
export const ADMIN_ACTIONS = ['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey'] as const;
/** Actions that use a key. */
export const USE_ACTIONS = ['kms:Decrypt', 'kms:Encrypt'] as const;

export interface StatementRef {
  index: number;
  sid: string | null;
  actions: string[];
}

export interface PrincipalGrants {
  principal: string;
  admin: StatementRef[];
  use: StatementRef[];
  /** Statements allowing an admin action with no aws:MultiFactorAuthPresent / aws:MultiFactorAuthAge condition. */
  adminWithoutMfa: StatementRef[];
}

const ACCOUNT = /^(\d{12}|arn:aws:iam::\d{12}:root)$/;

function allows(s: StatementSpec, action: string): boolean {
  const hit = s.action.values.some((p) => globMatch(p.toLowerCase(), action.toLowerCase()));
  return s.action.not ? !hit : hit;
}

function requiresMfa(s: StatementSpec): boolean {
  return s.conditions.some((c) => (c.key === 'aws:multifactorauthpresent' && c.values.some((v) => v.toLowerCase() === 'true') && /^Bool/.test(c.operator) && !c.ifExists)
    || (c.key === 'aws:multifactorauthage' && /^Numeric/.test(c.operator)));
}

/** Per principal named in Allow statements: which statements let it administer and use the key. */
export function analyzeKeyPolicy(text: string): PrincipalGrants[] {
  let statements: StatementSpec[];
  try {
    statements = parsePolicy(text, 'resource').statements;
  } catch {
    return []; // stored policies were validated when written; an unreadable one is not judged here
  }
  const byPrincipal = new Map<string, PrincipalGrants>();
  for (const s of statements) {
    if (s.effect !== 'Allow' || !s.principal || s.principal.not) continue;
    const admin = ADMIN_ACTIONS.filter((a) => allows(s, a));
    const use = USE_ACTIONS.filter((a) => allows(s, a));
    if (admin.length === 0 && use.length === 0) continue;
    const names = s.principal.spec.any ? ['*'] : s.principal.spec.aws.filter((p) => !ACCOUNT.test(p));
    for (const p of names) {
      const g = byPrincipal.get(p) ?? { principal: p, admin: [], use: [], adminWithoutMfa: [] };
      const ref = (actions: readonly string[]): StatementRef => ({ index: s.index, sid: s.sid ?? null, actions: [...actions] });
      if (admin.length > 0) g.admin.push(ref(admin));
      if (use.length > 0) g.use.push(ref(use));
      if (admin.length > 0 && !requiresMfa(s)) g.adminWithoutMfa.push(ref(admin));
      byPrincipal.set(p, g);
    }
  }
  return [...byPrincipal.values()];
}
