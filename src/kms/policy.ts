// Key policies: the policy name rule and validation (the default policy a key created without one
// gets is src/iam/policy/key-policy.ts defaultKeyPolicy) (src/iam/policy parses and compiles; src/kms/authz.ts evaluates).
// AWS KMS: "The key policy document size quota is 32 kilobytes (32768 bytes)" (MAX_POLICY_BYTES.resource).
import { NotFoundException } from '../errors.ts';
import { compilePolicy, type CompiledPolicy } from '../iam/policy/compile.ts';
export const DEFAULT_POLICY_NAME = 'default';

/** AWS KMS: "The only valid policy name is default." */
export function checkPolicyName(name: string | undefined): void {
  if (name !== undefined && name !== DEFAULT_POLICY_NAME) throw new NotFoundException('No such policy exists');
}

/**
 * Checks that a document can be a key policy, with the identity component's parser (the IAM policy
 * grammar, IAM's MalformedPolicyDocumentException wording: "Missing required field Principal",
 * "Invalid principal in policy: ...", "Policy statement must contain actions.", ...). The compiled
 * result is cached by text, so the first authorization with the stored policy costs nothing more.
 */
export function validatePolicy(policy: string): CompiledPolicy {
  return compilePolicy(policy, 'resource');
}
