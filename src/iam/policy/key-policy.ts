// Key policies with separation of duties, in the shape of the AWS KMS console's default key policy
// (AWS KMS Developer Guide, "Default key policy": "Allows key administrators to administer the
// KMS key" and "Allows key users to use the KMS key"): administrators manage the key but have no
// cryptographic permissions; users use it but cannot manage it.
import { MalformedPolicyDocumentException } from '../../errors.ts';
import { authorize } from './evaluate.ts';
import type { CompiledPolicy, PrincipalRef } from './compile.ts';
import type { RequestContext } from './conditions.ts';

/** The console's key administrator actions (no cryptographic operations). */
export const KEY_ADMIN_ACTIONS = [
  'kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*',
  'kms:Disable*', 'kms:Get*', 'kms:Delete*', 'kms:TagResource', 'kms:UntagResource',
  'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion', 'kms:RotateKeyOnDemand',
] as const;

/** The console's key user actions for a symmetric encryption key. */
export const KEY_USER_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'] as const;

/** Grants for integrated services' persistent resources, as the console writes them. */
export const KEY_USER_GRANT_ACTIONS = ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'] as const;

export interface KeyPolicyOptions {
  accountId: string;
  /** Key administrators and users (the console's policy). Both absent: the API's default policy. */
  administrators?: readonly string[];
  users?: readonly string[];
  partition?: string;
  /**
   * Include the console's "Enable IAM User Permissions" statement (the account root may use kms:*),
   * which lets identity-based policies grant access too. Default true, as AWS does; without it
   * only the principals named in the key policy have access, and only as listed.
   */
  enableIamUserPermissions?: boolean;
}

const principal = (arns: readonly string[]) => ({ AWS: arns.length === 1 ? arns[0]! : [...arns] });

/**
 * The one default key policy writer. Without administrators and users: the policy AWS KMS gives a key
 * created through the API without one (Id key-default-1: the account root may use kms:*, so IAM
 * policies grant access). With them: the console's separation-of-duties policy (pretty-printed
 * JSON, as the console shows it).
 */
export function defaultKeyPolicy(o: KeyPolicyOptions): string {
  const partition = o.partition ?? 'aws';
  if (o.administrators === undefined && o.users === undefined) {
    return JSON.stringify({
      Version: '2012-10-17', Id: 'key-default-1',
      Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:${partition}:iam::${o.accountId}:root` }, Action: 'kms:*', Resource: '*' }],
    }, null, 2);
  }
  const administrators = o.administrators ?? [];
  const users = o.users ?? [];
  const statements: Record<string, unknown>[] = [];
  if (o.enableIamUserPermissions ?? true) {
    statements.push({
      Sid: 'Enable IAM User Permissions', Effect: 'Allow',
      Principal: { AWS: `arn:${partition}:iam::${o.accountId}:root` }, Action: 'kms:*', Resource: '*',
    });
  }
  if (administrators.length > 0) {
    statements.push({ Sid: 'Allow access for Key Administrators', Effect: 'Allow', Principal: principal(administrators), Action: [...KEY_ADMIN_ACTIONS], Resource: '*' });
  }
  if (users.length > 0) {
    statements.push({ Sid: 'Allow use of the key', Effect: 'Allow', Principal: principal(users), Action: [...KEY_USER_ACTIONS], Resource: '*' });
    statements.push({
      Sid: 'Allow attachment of persistent resources', Effect: 'Allow', Principal: principal(users),
      Action: [...KEY_USER_GRANT_ACTIONS], Resource: '*', Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    });
  }
  return JSON.stringify({ Id: 'key-consolepolicy-3', Version: '2012-10-17', Statement: statements }, null, 4);
}

/**
 * AWS KMS policy lockout safety check (CreateKey/PutKeyPolicy without
 * BypassPolicyLockoutSafetyCheck): "the principal that is making the request must have permission
 * to make a subsequent PutKeyPolicy request on the KMS key." Throws
 * MalformedPolicyDocumentException("The new key policy will not allow you to update the key policy in the future.").
 */
export function checkPolicyLockout(input: {
  keyPolicy: string | CompiledPolicy;
  principal: PrincipalRef;
  identityPolicies: readonly (string | CompiledPolicy)[];
  keyArn: string;
  context: RequestContext;
}): void {
  const d = authorize({ principal: input.principal, action: 'kms:PutKeyPolicy', resource: input.keyArn, keyPolicy: input.keyPolicy, identityPolicies: input.identityPolicies, context: input.context });
  if (!d.allowed) throw new MalformedPolicyDocumentException('The new key policy will not allow you to update the key policy in the future.');
}
