// rekey's admin API for identities, under /v1/iam (JSON, AWS IAM's PascalCase members). Every call
// is SigV4-signed with credential scope service "iam" by a principal whose identity policies allow
// the action's IAM permission (e.g. iam:CreateUser on arn:aws:iam::<account>:user/<name>); the
// bootstrap administrator's AdministratorAccess policy allows all of them. The actions themselves
// live in src/iam/admin-actions.ts; this module declares the routes (src/http/admin-routes.ts).
import { ValidationException } from '../errors.ts';
import type { IamService } from '../iam/service.ts';
import type { Identity, RequestFacts } from '../iam/identity.ts';
import { WriteGate } from '../storage/gate.ts';
import { createAdminActions } from '../iam/admin-actions.ts';
import { defaultKeyPolicy } from '../iam/policy/key-policy.ts';
import type { AdminInput, AdminMethod, AdminRoute } from './admin-routes.ts';

/** method, URL, action (src/iam/admin-actions.ts). Success: 201 for POST Create*, 204 when the action returns nothing, else 200. */
export const IAM_ROUTES: readonly [AdminMethod, string, string][] = [
  ['POST', '/v1/iam/users', 'CreateUser'],
  ['GET', '/v1/iam/users', 'ListUsers'],
  ['GET', '/v1/iam/users/:UserName', 'GetUser'],
  ['DELETE', '/v1/iam/users/:UserName', 'DeleteUser'],
  ['POST', '/v1/iam/users/:UserName/access-keys', 'CreateAccessKey'],
  ['GET', '/v1/iam/users/:UserName/access-keys', 'ListAccessKeys'],
  ['PATCH', '/v1/iam/users/:UserName/access-keys/:AccessKeyId', 'UpdateAccessKey'],
  ['DELETE', '/v1/iam/users/:UserName/access-keys/:AccessKeyId', 'DeleteAccessKey'],
  ['GET', '/v1/iam/users/:UserName/policies', 'ListUserPolicies'],
  ['PUT', '/v1/iam/users/:UserName/policies/:PolicyName', 'PutUserPolicy'],
  ['GET', '/v1/iam/users/:UserName/policies/:PolicyName', 'GetUserPolicy'],
  ['DELETE', '/v1/iam/users/:UserName/policies/:PolicyName', 'DeleteUserPolicy'],
  ['POST', '/v1/iam/users/:UserName/mfa-devices', 'EnableMFADevice'],
  ['DELETE', '/v1/iam/users/:UserName/mfa-devices', 'DeactivateMFADevice'],
  ['POST', '/v1/iam/roles', 'CreateRole'],
  ['GET', '/v1/iam/roles', 'ListRoles'],
  ['GET', '/v1/iam/roles/:RoleName', 'GetRole'],
  ['DELETE', '/v1/iam/roles/:RoleName', 'DeleteRole'],
  ['PUT', '/v1/iam/roles/:RoleName/trust-policy', 'UpdateAssumeRolePolicy'],
  ['GET', '/v1/iam/roles/:RoleName/policies', 'ListRolePolicies'],
  ['PUT', '/v1/iam/roles/:RoleName/policies/:PolicyName', 'PutRolePolicy'],
  ['GET', '/v1/iam/roles/:RoleName/policies/:PolicyName', 'GetRolePolicy'],
  ['DELETE', '/v1/iam/roles/:RoleName/policies/:PolicyName', 'DeleteRolePolicy'],
  ['POST', '/v1/iam/mfa-devices', 'CreateVirtualMFADevice'],
  ['GET', '/v1/iam/mfa-devices', 'ListMFADevices'],
  ['DELETE', '/v1/iam/mfa-devices', 'DeleteVirtualMFADevice'],
  ['GET', '/v1/iam/whoami', 'GetCallerIdentity'],
];

/** Input members recorded in the audit trail (policy documents and MFA codes are not). */
const AUDITED = ['UserName', 'RoleName', 'PolicyName', 'AccessKeyId', 'Status', 'SerialNumber', 'VirtualMFADeviceName', 'Force', 'Description', 'MaxSessionDuration'];

export function iamRoutes(iam: IamService): AdminRoute[] {
  const actions = createAdminActions();
  // a mutation works on the call's view of the stores: its event is recorded right before the first write
  const of = (request: RequestFacts) => (request.beforeCommit ? iam.forCall(new WriteGate(request.beforeCommit)) : iam);
  const routes: AdminRoute[] = IAM_ROUTES.map(([method, url, name]) => {
    const action = actions[name]!;
    return {
      method, url, action: action.permission ?? `iam:${name}`, eventSource: 'iam.amazonaws.com', summary: name, audit: AUDITED,
      ...(action.permission ? {} : { permission: null }),
      // GET /v1/iam/whoami answers who the caller is: nothing to authorize
      mutating: method !== 'GET', gate: 'operation',
      resource: (input: AdminInput) => action.resource(iam, input),
      run: (input: AdminInput, call: { caller: Identity; request: RequestFacts }) => action.run(of(call.request), input, call.caller),
    };
  });
  // Stateless: the separation-of-duties key policy for given administrators and users.
  routes.push({
    method: 'POST', url: '/v1/iam/key-policy', action: 'rekey:GetDefaultKeyPolicy', permission: null, mutating: false, status: 200,
    summary: 'The separation-of-duties key policy for given administrators and users (stateless)', audit: [], resource: () => '*',
    run: (b) => {
      const list = (v: unknown, name: string): string[] => {
        if (v === undefined) return [];
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ValidationException(`${name} must be a list of principal ARNs`);
        return v as string[];
      };
      const enable = b['EnableIamUserPermissions'];
      return { Policy: defaultKeyPolicy({ accountId: iam.accountId, administrators: list(b['Administrators'], 'Administrators'), users: list(b['Users'], 'Users'), ...(typeof enable === 'boolean' ? { enableIamUserPermissions: enable } : {}) }) };
    },
  });
  return routes;
}
