// The identity administration actions behind rekey's admin API, named and shaped like AWS IAM's
// (CreateUser, CreateAccessKey, PutUserPolicy, CreateRole, EnableMFADevice, ...). Input and output
// use IAM's PascalCase members. Each action names the IAM permission it requires and the resource
// it acts on; the HTTP adapter (src/http/admin-iam.ts) authenticates, authorizes and maps routes.
import { ValidationException } from '../errors.ts';
import type { IamAdmin } from './service.ts';
import type { Identity } from './identity.ts';
import type { AccessKeyRecord } from './access-keys.ts';
import type { RoleRecord, UserRecord } from './model.ts';
import type { MfaDeviceInfo } from './mfa.ts';

export type ActionInput = Readonly<Record<string, unknown>>;

export interface AdminAction {
  /** The IAM permission required, e.g. "iam:CreateUser"; undefined: any authenticated caller. */
  readonly permission: string | undefined;
  resource(iam: IamAdmin, input: ActionInput): string;
  run(iam: IamAdmin, input: ActionInput, caller: Identity): Promise<unknown>;
}

export const userView = (u: UserRecord) => ({ UserName: u.name, UserId: u.userId, Arn: u.arn, Path: '/', CreateDate: u.createdAt });
export const roleView = (r: RoleRecord) => ({
  RoleName: r.name, RoleId: r.roleId, Arn: r.arn, Path: '/', CreateDate: r.createdAt, AssumeRolePolicyDocument: r.trustPolicy,
  MaxSessionDuration: r.maxSessionDuration, ...(r.description !== undefined ? { Description: r.description } : {}),
});
export const keyView = (k: Pick<AccessKeyRecord, 'accessKeyId' | 'status' | 'createdAt'> & { userName?: string }) => ({ UserName: k.userName, AccessKeyId: k.accessKeyId, Status: k.status, CreateDate: k.createdAt });
const mfaView = (d: MfaDeviceInfo) => ({ SerialNumber: d.serialNumber, Enabled: d.enabled, ...(d.userName ? { UserName: d.userName } : {}), ...(d.enabledAt ? { EnableDate: d.enabledAt } : {}) });

function str(input: ActionInput, name: string): string {
  const v = input[name];
  if (typeof v !== 'string' || v.length === 0) throw new ValidationException(`1 validation error detected: Value at '${name.charAt(0).toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`);
  return v;
}
function optStr(input: ActionInput, name: string): string | undefined {
  return input[name] === undefined ? undefined : str(input, name);
}
/** Policy documents arrive as JSON text (as in AWS IAM) or as a JSON object. */
function policyDoc(input: ActionInput, name: string): string {
  const v = input[name];
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return str(input, name);
}

export function createAdminActions(): Record<string, AdminAction> {
  const acct = (iam: IamAdmin) => iam.accountId;
  const user = (iam: IamAdmin, i: ActionInput) => `arn:aws:iam::${acct(iam)}:user/${str(i, 'UserName')}`;
  const role = (iam: IamAdmin, i: ActionInput) => `arn:aws:iam::${acct(iam)}:role/${str(i, 'RoleName')}`;
  const a = (permission: string | undefined, resource: AdminAction['resource'], run: AdminAction['run']): AdminAction => ({ permission, resource, run });

  return {
    // ---- users
    CreateUser: a('iam:CreateUser', user, async (iam, i) => ({ User: userView(await iam.principals.createUser(str(i, 'UserName'))) })),
    GetUser: a('iam:GetUser', user, async (iam, i) => ({ User: userView(await iam.principals.getUser(str(i, 'UserName'))) })),
    ListUsers: a('iam:ListUsers', (iam) => `arn:aws:iam::${acct(iam)}:user/*`, async (iam) => ({ Users: (await iam.principals.listUsers()).map(userView) })),
    // AWS requires deleting keys, policies and MFA devices first (DeleteConflict); Force does it in one go.
    DeleteUser: a('iam:DeleteUser', user, async (iam, i) => iam.deleteUser(str(i, 'UserName'), i['Force'] === true || i['Force'] === 'true')),

    // ---- access keys (the secret is in the CreateAccessKey response only)
    CreateAccessKey: a('iam:CreateAccessKey', user, async (iam, i) => {
      const k = await iam.accessKeys.create(await iam.principals.getUser(str(i, 'UserName')));
      return { AccessKey: { ...keyView(k), SecretAccessKey: k.secretAccessKey } };
    }),
    ListAccessKeys: a('iam:ListAccessKeys', user, async (iam, i) => {
      const u = await iam.principals.getUser(str(i, 'UserName'));
      return { AccessKeyMetadata: (await iam.accessKeys.listForUser(u.name)).map(keyView) };
    }),
    UpdateAccessKey: a('iam:UpdateAccessKey', user, async (iam, i) => {
      const status = str(i, 'Status');
      if (status !== 'Active' && status !== 'Inactive') throw new ValidationException(`1 validation error detected: Value '${status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]`);
      await iam.accessKeys.setStatus(str(i, 'AccessKeyId'), status, str(i, 'UserName'));
    }),
    DeleteAccessKey: a('iam:DeleteAccessKey', user, async (iam, i) => iam.accessKeys.delete(str(i, 'AccessKeyId'), str(i, 'UserName'))),

    // ---- inline policies
    PutUserPolicy: a('iam:PutUserPolicy', user, async (iam, i) => iam.principals.putPolicy('user', str(i, 'UserName'), str(i, 'PolicyName'), policyDoc(i, 'PolicyDocument'))),
    GetUserPolicy: a('iam:GetUserPolicy', user, async (iam, i) => ({ UserName: str(i, 'UserName'), PolicyName: str(i, 'PolicyName'), PolicyDocument: await iam.principals.getPolicy('user', str(i, 'UserName'), str(i, 'PolicyName')) })),
    ListUserPolicies: a('iam:ListUserPolicies', user, async (iam, i) => ({ PolicyNames: await iam.principals.listPolicies('user', str(i, 'UserName')) })),
    DeleteUserPolicy: a('iam:DeleteUserPolicy', user, async (iam, i) => iam.principals.deletePolicy('user', str(i, 'UserName'), str(i, 'PolicyName'))),

    // ---- roles
    CreateRole: a('iam:CreateRole', role, async (iam, i) => {
      const max = i['MaxSessionDuration'];
      if (max !== undefined && typeof max !== 'number') throw new ValidationException("1 validation error detected: Value at 'maxSessionDuration' failed to satisfy constraint: Member must be a number");
      const desc = optStr(i, 'Description');
      return { Role: roleView(await iam.principals.createRole(str(i, 'RoleName'), policyDoc(i, 'AssumeRolePolicyDocument'), { ...(desc !== undefined ? { description: desc } : {}), ...(max !== undefined ? { maxSessionDuration: max } : {}) })) };
    }),
    GetRole: a('iam:GetRole', role, async (iam, i) => ({ Role: roleView(await iam.principals.getRole(str(i, 'RoleName'))) })),
    ListRoles: a('iam:ListRoles', (iam) => `arn:aws:iam::${acct(iam)}:role/*`, async (iam) => ({ Roles: (await iam.principals.listRoles()).map(roleView) })),
    DeleteRole: a('iam:DeleteRole', role, async (iam, i) => iam.principals.deleteRole(str(i, 'RoleName'), { force: i['Force'] === true || i['Force'] === 'true' })),
    UpdateAssumeRolePolicy: a('iam:UpdateAssumeRolePolicy', role, async (iam, i) => { await iam.principals.updateTrustPolicy(str(i, 'RoleName'), policyDoc(i, 'PolicyDocument')); }),
    PutRolePolicy: a('iam:PutRolePolicy', role, async (iam, i) => iam.principals.putPolicy('role', str(i, 'RoleName'), str(i, 'PolicyName'), policyDoc(i, 'PolicyDocument'))),
    GetRolePolicy: a('iam:GetRolePolicy', role, async (iam, i) => ({ RoleName: str(i, 'RoleName'), PolicyName: str(i, 'PolicyName'), PolicyDocument: await iam.principals.getPolicy('role', str(i, 'RoleName'), str(i, 'PolicyName')) })),
    ListRolePolicies: a('iam:ListRolePolicies', role, async (iam, i) => ({ PolicyNames: await iam.principals.listPolicies('role', str(i, 'RoleName')) })),
    DeleteRolePolicy: a('iam:DeleteRolePolicy', role, async (iam, i) => iam.principals.deletePolicy('role', str(i, 'RoleName'), str(i, 'PolicyName'))),

    // ---- MFA devices
    CreateVirtualMFADevice: a('iam:CreateVirtualMFADevice', (iam, i) => `arn:aws:iam::${acct(iam)}:mfa/${str(i, 'VirtualMFADeviceName')}`, async (iam, i) => {
      const d = await iam.mfa.createVirtualDevice(str(i, 'VirtualMFADeviceName'));
      return { VirtualMFADevice: { SerialNumber: d.serialNumber, Base32StringSeed: d.base32StringSeed, OtpauthUri: d.otpauthUri } };
    }),
    EnableMFADevice: a('iam:EnableMFADevice', user, async (iam, i) => {
      const u = await iam.principals.getUser(str(i, 'UserName'));
      await iam.mfa.enable(u.name, str(i, 'SerialNumber'), str(i, 'AuthenticationCode1'), str(i, 'AuthenticationCode2'));
    }),
    DeactivateMFADevice: a('iam:DeactivateMFADevice', user, async (iam, i) => iam.mfa.deactivate(str(i, 'UserName'), str(i, 'SerialNumber'))),
    DeleteVirtualMFADevice: a('iam:DeleteVirtualMFADevice', (_iam, i) => str(i, 'SerialNumber'), async (iam, i) => iam.mfa.delete(str(i, 'SerialNumber'))),
    ListMFADevices: a('iam:ListMFADevices', (iam, i) => (typeof i['UserName'] === 'string' ? user(iam, i) : `arn:aws:iam::${acct(iam)}:mfa/*`), async (iam, i) => ({ MFADevices: (await iam.mfa.list(optStr(i, 'UserName'))).map(mfaView) })),

    // ---- who am I (like sts:GetCallerIdentity: no permission needed)
    GetCallerIdentity: a(undefined, () => '*', async (_iam, _i, c) => ({ Account: c.accountId, Arn: c.arn, UserId: c.principalId })),
  };
}
