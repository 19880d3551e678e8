// The IAM policy language: parse, compile (cached), evaluate; request context builders; the
// separation-of-duties key policy. See docs/IAM.md.
export { parsePolicy, MAX_POLICY_BYTES, type PolicyKind, type PolicySpec } from './parse.ts';
export { compilePolicy, compileSpec, isRootArn, type CompiledPolicy, type PrincipalRef } from './compile.ts';
export { authorize, authorizeOrThrow, accessDeniedMessage, type AuthorizeInput, type Decision, type MatchedStatement } from './evaluate.ts';
export { globalContext, kmsContext, type KmsFacts, type ConditionFacts, type ContextRecord } from './context.ts';
export { defaultKeyPolicy, checkPolicyLockout, KEY_ADMIN_ACTIONS, KEY_USER_ACTIONS, type KeyPolicyOptions } from './key-policy.ts';
export type { RequestContext, ContextValue } from './conditions.ts';
