// `rekey iam ...`: identity administration through the admin API (/v1/iam), SigV4-signed with the
// caller's credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN), like the
// AWS CLI's `aws iam ...`. Options use the AWS CLI's names; JSON documents may be given inline or
// as file://path. `key-policy` writes the separation-of-duties key policy locally.
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ValidationException } from '../errors.ts';
import { defaultKeyPolicy } from '../iam/policy/key-policy.ts';
import { callAdmin, connectionOptions, DEFAULT_ENDPOINT, RemoteError, type ConnectionFlags } from './admin-client.ts';
import { formatOf, print, withOutput } from './output.ts';

export { callAdmin, DEFAULT_ENDPOINT, RemoteError };

export interface IamCliIo {
  out: { write(s: string): unknown };
  env: Record<string, string | undefined>;
}

type Opt = readonly [flag: string, member: string, description: string, kind?: 'doc' | 'int' | 'bool'];
interface Cmd {
  name: string;
  description: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** URL with :Member placeholders filled from options. */
  url: string;
  required: readonly Opt[];
  optional?: readonly Opt[];
  /** Members sent in the query string instead of the body. */
  query?: readonly string[];
}

const USER: Opt = ['--user-name <name>', 'UserName', 'the IAM user'];
const ROLE: Opt = ['--role-name <name>', 'RoleName', 'the IAM role'];
const POLICY: Opt = ['--policy-name <name>', 'PolicyName', 'the inline policy name'];
const DOC: Opt = ['--policy-document <json>', 'PolicyDocument', 'policy JSON, or file://path', 'doc'];
const KEY: Opt = ['--access-key-id <id>', 'AccessKeyId', 'the access key id'];
const SERIAL: Opt = ['--serial-number <arn>', 'SerialNumber', 'the MFA device serial number (arn:aws:iam::<account>:mfa/<name>)'];
const FORCE: Opt = ['--force', 'Force', 'also delete what is attached (access keys, policies, MFA devices)', 'bool'];

export const IAM_COMMANDS: readonly Cmd[] = [
  { name: 'create-user', description: 'Create an IAM user', method: 'POST', url: '/v1/iam/users', required: [USER] },
  { name: 'list-users', description: 'List IAM users', method: 'GET', url: '/v1/iam/users', required: [] },
  { name: 'get-user', description: 'Show an IAM user', method: 'GET', url: '/v1/iam/users/:UserName', required: [USER] },
  { name: 'delete-user', description: 'Delete an IAM user', method: 'DELETE', url: '/v1/iam/users/:UserName', required: [USER], optional: [FORCE], query: ['Force'] },
  { name: 'create-access-key', description: 'Create an access key (the secret is shown once)', method: 'POST', url: '/v1/iam/users/:UserName/access-keys', required: [USER] },
  { name: 'list-access-keys', description: "List a user's access keys", method: 'GET', url: '/v1/iam/users/:UserName/access-keys', required: [USER] },
  { name: 'update-access-key', description: 'Set an access key Active or Inactive', method: 'PATCH', url: '/v1/iam/users/:UserName/access-keys/:AccessKeyId', required: [USER, KEY, ['--status <status>', 'Status', 'Active or Inactive']] },
  { name: 'delete-access-key', description: 'Delete an access key', method: 'DELETE', url: '/v1/iam/users/:UserName/access-keys/:AccessKeyId', required: [USER, KEY] },
  { name: 'put-user-policy', description: 'Attach (or replace) an inline policy on a user', method: 'PUT', url: '/v1/iam/users/:UserName/policies/:PolicyName', required: [USER, POLICY, DOC] },
  { name: 'get-user-policy', description: "Show a user's inline policy", method: 'GET', url: '/v1/iam/users/:UserName/policies/:PolicyName', required: [USER, POLICY] },
  { name: 'list-user-policies', description: "List a user's inline policies", method: 'GET', url: '/v1/iam/users/:UserName/policies', required: [USER] },
  { name: 'delete-user-policy', description: "Delete a user's inline policy", method: 'DELETE', url: '/v1/iam/users/:UserName/policies/:PolicyName', required: [USER, POLICY] },
  {
    name: 'create-role', description: 'Create an IAM role with a trust policy', method: 'POST', url: '/v1/iam/roles',
    required: [ROLE, ['--assume-role-policy-document <json>', 'AssumeRolePolicyDocument', 'trust policy JSON, or file://path', 'doc']],
    optional: [['--description <text>', 'Description', 'a description'], ['--max-session-duration <seconds>', 'MaxSessionDuration', '3600 to 43200 (default 3600)', 'int']],
  },
  { name: 'list-roles', description: 'List IAM roles', method: 'GET', url: '/v1/iam/roles', required: [] },
  { name: 'get-role', description: 'Show an IAM role', method: 'GET', url: '/v1/iam/roles/:RoleName', required: [ROLE] },
  { name: 'delete-role', description: 'Delete an IAM role', method: 'DELETE', url: '/v1/iam/roles/:RoleName', required: [ROLE], optional: [FORCE], query: ['Force'] },
  { name: 'update-assume-role-policy', description: "Replace a role's trust policy", method: 'PUT', url: '/v1/iam/roles/:RoleName/trust-policy', required: [ROLE, DOC] },
  { name: 'put-role-policy', description: 'Attach (or replace) an inline policy on a role', method: 'PUT', url: '/v1/iam/roles/:RoleName/policies/:PolicyName', required: [ROLE, POLICY, DOC] },
  { name: 'get-role-policy', description: "Show a role's inline policy", method: 'GET', url: '/v1/iam/roles/:RoleName/policies/:PolicyName', required: [ROLE, POLICY] },
  { name: 'list-role-policies', description: "List a role's inline policies", method: 'GET', url: '/v1/iam/roles/:RoleName/policies', required: [ROLE] },
  { name: 'delete-role-policy', description: "Delete a role's inline policy", method: 'DELETE', url: '/v1/iam/roles/:RoleName/policies/:PolicyName', required: [ROLE, POLICY] },
  { name: 'create-virtual-mfa-device', description: 'Create a virtual MFA device; prints its secret and otpauth:// URI once', method: 'POST', url: '/v1/iam/mfa-devices', required: [['--virtual-mfa-device-name <name>', 'VirtualMFADeviceName', 'the device name']] },
  {
    name: 'enable-mfa', description: 'Enable an MFA device for a user with two consecutive codes from it (AWS EnableMFADevice)', method: 'POST', url: '/v1/iam/users/:UserName/mfa-devices',
    required: [USER, SERIAL, ['--authentication-code1 <code>', 'AuthenticationCode1', 'a code from the device'], ['--authentication-code2 <code>', 'AuthenticationCode2', 'the next code from the device']],
  },
  { name: 'deactivate-mfa-device', description: "Deactivate a user's MFA device", method: 'DELETE', url: '/v1/iam/users/:UserName/mfa-devices', required: [USER, SERIAL], query: ['SerialNumber'] },
  { name: 'delete-virtual-mfa-device', description: 'Delete a (deactivated) virtual MFA device', method: 'DELETE', url: '/v1/iam/mfa-devices', required: [SERIAL], query: ['SerialNumber'] },
  { name: 'list-mfa-devices', description: 'List MFA devices (of a user)', method: 'GET', url: '/v1/iam/mfa-devices', required: [], optional: [USER], query: ['UserName'] },
  { name: 'whoami', description: 'Show the caller (like aws sts get-caller-identity)', method: 'GET', url: '/v1/iam/whoami', required: [] },
];

function camel(flag: string): string {
  const long = flag.split(' ')[0]!.replace(/^--/, '');
  return long.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function value(o: Opt, raw: unknown): unknown {
  if (o[3] === 'bool') return raw === true;
  if (typeof raw !== 'string') return raw;
  if (o[3] === 'int') {
    if (!/^\d+$/.test(raw)) throw new ValidationException(`${o[0].split(' ')[0]}: not a number: ${raw}`);
    return Number(raw);
  }
  if (o[3] === 'doc') return raw.startsWith('file://') ? readFileSync(raw.slice('file://'.length), 'utf8') : raw;
  return raw;
}

export function registerIamCommands(program: Command, io: IamCliIo = { out: process.stdout, env: process.env }): Command {
  const iam = program.command('iam').description('Manage identities: users, access keys, roles, policies, MFA devices (through the admin API)');
  for (const cmd of IAM_COMMANDS) {
    const c = withOutput(connectionOptions(iam.command(cmd.name).description(cmd.description)));
    for (const o of cmd.required) c.addOption(new Option(o[0], o[2]).makeOptionMandatory(o[3] !== 'bool'));
    for (const o of cmd.optional ?? []) c.addOption(new Option(o[0], o[2]));
    c.action(async (opts: Record<string, unknown>) => {
      const members: Record<string, unknown> = {};
      for (const o of [...cmd.required, ...(cmd.optional ?? [])]) {
        const raw = opts[camel(o[0])];
        if (raw !== undefined) members[o[1]] = value(o, raw);
      }
      let path = cmd.url.replace(/:(\w+)/g, (_m, k: string) => {
        const v = members[k];
        delete members[k];
        return encodeURIComponent(String(v));
      });
      const qs = new URLSearchParams();
      for (const k of cmd.query ?? []) {
        if (members[k] !== undefined && members[k] !== false) qs.set(k, String(members[k]));
        delete members[k];
      }
      if ([...qs].length > 0) path += `?${qs.toString().replace(/\+/g, '%20')}`;
      const send = cmd.method === 'GET' || cmd.method === 'DELETE' ? undefined : members;
      const result = await callAdmin(io, opts as ConnectionFlags, cmd.method, path, send);
      print((t) => io.out.write(t), formatOf(opts), result);
    });
  }

  iam.command('key-policy')
    .description('Print a key policy with separation of duties (AWS console default shape): administrators manage, users use')
    .requiredOption('--account-id <id>', 'the account id (12 digits)')
    .option('--administrators <arns>', 'comma-separated principal ARNs of key administrators', '')
    .option('--users <arns>', 'comma-separated principal ARNs of key users', '')
    .option('--no-iam-user-permissions', 'omit the "Enable IAM User Permissions" statement (identity policies then cannot grant access)')
    .action((o: { accountId: string; administrators: string; users: string; iamUserPermissions: boolean }) => {
      const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
      io.out.write(defaultKeyPolicy({ accountId: o.accountId, administrators: list(o.administrators), users: list(o.users), enableIamUserPermissions: o.iamUserPermissions }) + '\n');
    });
  return iam;
}
