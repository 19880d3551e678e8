// `rekey kms create-key`: a KMS key with separation of duties, through the admin API
// (POST /v1/kms/keys), SigV4-signed (credential scope service "kms") with the caller's credentials
// (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN). Everything else about keys is
// the AWS CLI's job (`aws kms ... --endpoint-url`).
import type { Command } from 'commander';
import { ValidationException } from '../errors.ts';
import { callAdmin, connectionOptions, type ConnectionFlags } from './admin-client.ts';
import type { IamCliIo } from './iam-command.ts';
import { formatOf, print, withOutput } from './output.ts';

export type KmsCliIo = IamCliIo;

/** Sends one signed admin API call with credential scope service "kms"; returns the parsed JSON body. */
export function callKmsAdmin(io: KmsCliIo, flags: ConnectionFlags, path: string, body: Record<string, unknown>): Promise<unknown> {
  return callAdmin(io, flags, 'POST', path, body, 'kms');
}

const list = (s: string | undefined): string[] => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

export function registerKmsCommands(program: Command, io: KmsCliIo = { out: process.stdout, env: process.env }): Command {
  // `rekey kms` may already exist (the key lifecycle commands register under it too)
  const kms = program.commands.find((c) => c.name() === 'kms') ?? program.command('kms').description('KMS keys through the admin API (use the AWS CLI with --endpoint-url for the KMS API itself)');
  withOutput(connectionOptions(kms.command('create-key')))
    .description('Create a KMS key whose policy lets the administrators manage it (not use it) and the users use it (not manage it)')
    .option('--administrators <arns>', 'comma-separated principal ARNs of the key administrators')
    .option('--users <arns>', 'comma-separated principal ARNs of the key users')
    .option('--description <text>', 'the key description')
    .option('--no-iam-user-permissions', 'omit the "Enable IAM User Permissions" statement (only the key policy then grants access)')
    .action(async (o: { administrators?: string; users?: string; description?: string; iamUserPermissions: boolean; output: string } & ConnectionFlags) => {
      const administrators = list(o.administrators);
      const users = list(o.users);
      if (administrators.length === 0 && users.length === 0) throw new ValidationException('Give --administrators and/or --users (comma-separated principal ARNs).');
      const body = {
        Administrators: administrators, Users: users,
        ...(o.description !== undefined ? { Description: o.description } : {}),
        ...(o.iamUserPermissions === false ? { EnableIamUserPermissions: false } : {}),
      };
      print((t) => io.out.write(t), formatOf(o), await callKmsAdmin(io, o, '/v1/kms/keys', body));
    });
  return kms;
}
