// Key policies: the default policy AWS KMS gives a key created without one, and the structural
// checks a policy document must pass to be stored. Evaluation comes with the identity component.
import { MalformedPolicyDocumentException, NotFoundException } from '../errors.ts';
import type { Scope } from './ids.ts';

/** AWS KMS: "The key policy document size quota is 32 kilobytes (32768 bytes)." */
export const MAX_POLICY_BYTES = 32768;
export const DEFAULT_POLICY_NAME = 'default';

/**
 * AWS KMS's default key policy: it gives the account (its root principal) full access to the key,
 * which lets IAM policies in the account grant access.
 */
export function defaultKeyPolicy(scope: Scope): string {
  const doc = {
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [{
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: `arn:${scope.partition}:iam::${scope.accountId}:root` },
      Action: 'kms:*',
      Resource: '*',
    }],
  };
  return JSON.stringify(doc, null, 2);
}

/** AWS KMS: "The only valid policy name is default." */
export function checkPolicyName(name: string | undefined): void {
  if (name !== undefined && name !== DEFAULT_POLICY_NAME) throw new NotFoundException('No such policy exists');
}

function malformed(msg: string): Error {
  return new MalformedPolicyDocumentException(msg);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStringOrStrings = (v: unknown): boolean => typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'));

/** Checks that a policy is a JSON policy document a key policy can be. Returns nothing; throws MalformedPolicyDocumentException. */
export function validatePolicy(policy: string): void {
  if (Buffer.byteLength(policy, 'utf8') > MAX_POLICY_BYTES) throw malformed(`The key policy exceeds the maximum size of ${MAX_POLICY_BYTES} bytes.`);
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    throw malformed('The key policy is not valid JSON.');
  }
  if (!isObject(doc)) throw malformed('The key policy must be a JSON object.');
  if (doc['Version'] !== undefined && doc['Version'] !== '2012-10-17' && doc['Version'] !== '2008-10-17') {
    throw malformed('The policy Version must be "2012-10-17" or "2008-10-17".');
  }
  const st = doc['Statement'];
  const statements = Array.isArray(st) ? st : st === undefined ? [] : [st];
  if (statements.length === 0) throw malformed('The key policy must contain at least one Statement.');
  statements.forEach((s, i) => {
    const where = `Statement ${i + 1}`;
    if (!isObject(s)) throw malformed(`${where} must be a JSON object.`);
    if (s['Effect'] !== 'Allow' && s['Effect'] !== 'Deny') throw malformed(`${where} must have an Effect of "Allow" or "Deny".`);
    const principal = s['Principal'] ?? s['NotPrincipal'];
    // AWS KMS: a key policy statement must name a Principal.
    if (principal === undefined) throw malformed(`${where} must have a Principal.`);
    if (principal !== '*' && !(isObject(principal) && Object.values(principal).every(isStringOrStrings))) {
      throw malformed(`${where} has an invalid Principal.`);
    }
    const action = s['Action'] ?? s['NotAction'];
    if (action === undefined || !isStringOrStrings(action)) throw malformed(`${where} must have an Action (a string or a list of strings).`);
    const resource = s['Resource'] ?? s['NotResource'];
    if (resource === undefined || !isStringOrStrings(resource)) throw malformed(`${where} must have a Resource (a string or a list of strings).`);
    if (s['Condition'] !== undefined && !isObject(s['Condition'])) throw malformed(`${where} has an invalid Condition.`);
  });
}
