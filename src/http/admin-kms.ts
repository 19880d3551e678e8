// rekey's admin API for KMS keys with separation of duties:
//
//   POST /v1/kms/keys  {Description?, Administrators: [arn], Users: [arn], Tags?, EnableIamUserPermissions?}
//     -> 201 {KeyMetadata, Policy}
//
// It writes the AWS console's default key policy shape (src/iam/policy/key-policy.ts): the key
// administrators manage the key but cannot use it, the key users use it but cannot manage it. The
// call is SigV4-signed with credential scope service "kms" and runs as KMS CreateKey for the
// caller: kms:CreateKey in the caller's IAM policies, the policy lockout safety check, and the same
// validation. (camelCase member names - description, administrators, users - are accepted too.)
import { ValidationException } from '../errors.ts';
import { defaultKeyPolicy } from '../iam/policy/key-policy.ts';
import type { KmsService } from '../kms/service.ts';
import type { AdminInput, AdminRoute } from './admin-routes.ts';

const MAX_PRINCIPALS = 100;

function principals(b: AdminInput, name: 'Administrators' | 'Users'): string[] {
  const lower = name.toLowerCase();
  if (b[name] !== undefined && b[lower] !== undefined) throw new ValidationException(`Give ${name} or ${lower}, not both.`);
  const v = b[name] ?? b[lower];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0) || v.length > MAX_PRINCIPALS) {
    throw new ValidationException(`${name} must be a list of at most ${MAX_PRINCIPALS} principal ARNs.`);
  }
  return [...new Set(v as string[])];
}

export function kmsAdminRoutes(kms: KmsService, accountId: string): AdminRoute[] {
  return [{
    method: 'POST', url: '/v1/kms/keys', action: 'kms:CreateKey', signingName: 'kms', eventSource: 'kms.amazonaws.com',
    permission: 'operation', gate: 'operation', status: 201,
    summary: 'Create a KMS key whose policy separates key administrators from key users (the policy lockout safety check applies)',
    audit: ['Administrators', 'Users', 'Description'], resource: () => '*',
    run: async (b, { caller, request }) => {
      const administrators = principals(b, 'Administrators');
      const users = principals(b, 'Users');
      const description = b['Description'] ?? b['description'];
      const enable = b['EnableIamUserPermissions'];
      if (enable !== undefined && typeof enable !== 'boolean') throw new ValidationException('EnableIamUserPermissions must be a boolean.');
      // what the audit event records: the normalized lists
      for (const k of ['administrators', 'users', 'description']) delete b[k];
      Object.assign(b, { Administrators: administrators, Users: users, ...(description !== undefined ? { Description: description } : {}) });
      const policy = defaultKeyPolicy({ accountId, administrators, users, ...(enable !== undefined ? { enableIamUserPermissions: enable } : {}) });
      const input = { Policy: policy, ...(description !== undefined ? { Description: description } : {}), ...(b['Tags'] !== undefined ? { Tags: b['Tags'] } : {}) };
      const created = await kms.call('CreateKey', input, caller, request);
      return { ...created, Policy: policy };
    },
  }];
}
