// `rekey kms dependents|schedule-deletion|disable|usage-budget`: the key lifecycle's admin API
// (/v1/kms/keys/:keyId/..., src/http/admin-kms-lifecycle.ts), SigV4-signed like `rekey iam` with
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. Thin: one request per command.
//
//   rekey kms dependents KEY
//   rekey kms schedule-deletion KEY [--pending-window-in-days 7-30] [--force]
//   rekey kms disable KEY [--force]
//   rekey kms usage-budget KEY [--max-encryptions N] [--max-bytes N] [--clear]   (no option: show)
import type { Command } from 'commander';
import { ValidationException } from '../errors.ts';
import { callAdmin, connectionOptions, type ConnectionFlags } from './admin-client.ts';
import type { IamCliIo } from './iam-command.ts';
import { formatOf, print as printAs, table, withOutput } from './output.ts';

interface Common extends ConnectionFlags {
  json?: boolean;
  output?: string;
}

interface DependentView {
  type: string;
  name: string;
  arn: string;
  registeredAt: number;
}

function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new ValidationException(`${flag}: not a number: ${v}`);
  return Number(v);
}

/** Adds the lifecycle commands to `rekey kms` (creating the group when no other module did). */
export function registerKmsLifecycleCommands(program: Command, io: IamCliIo = { out: process.stdout, env: process.env }): Command {
  const kms = program.commands.find((c) => c.name() === 'kms') ?? program.command('kms').description('KMS keys through the admin API');
  // every command: --endpoint/--region/--ca-bundle and --output table|json (all four print as --output json did before)
  const common = (c: Command) => withOutput(connectionOptions(c));
  const call = (o: Common, method: 'GET' | 'POST', key: string, what: string, body?: Record<string, unknown>) =>
    callAdmin(io, o, method, `/v1/kms/keys/${encodeURIComponent(key)}/${what}`, body);
  const write = (t: string) => io.out.write(t);

  common(kms.command('dependents').argument('<key>', 'key id or key ARN')
    .description('List the rekey resources (secrets, ...) that use a key: DisableKey and ScheduleKeyDeletion refuse it while there are any')
    .option('--json', 'same as --output json'))
    .action(async (key: string, o: Common) => {
      const r = (await call(o, 'GET', key, 'dependents')) as { keyArn: string; dependents: DependentView[] };
      printAs(write, formatOf(o), r, () => (r.dependents.length === 0 ? `${r.keyArn}: no dependents\n`
        : table([['TYPE', 'NAME', 'ARN', 'REGISTERED'], ...r.dependents.map((d) => [d.type, d.name, d.arn, new Date(d.registeredAt).toISOString()])])));
    });

  common(kms.command('schedule-deletion').argument('<key>', 'key id or key ARN')
    .description('ScheduleKeyDeletion as an administrator; --force goes ahead although rekey resources use the key')
    .option('--pending-window-in-days <days>', 'waiting period, 7 to 30 (default 30)')
    .option('--force', 'override the dependency guard (needs rekey:OverrideKeyDependencies)'))
    .action(async (key: string, o: Common & { pendingWindowInDays?: string; force?: boolean }) => {
      const days = int('--pending-window-in-days', o.pendingWindowInDays);
      printAs(write, formatOf(o), await call(o, 'POST', key, 'schedule-deletion', { ...(days !== undefined ? { pendingWindowInDays: days } : {}), ...(o.force ? { force: true } : {}) }));
    });

  common(kms.command('disable').argument('<key>', 'key id or key ARN')
    .description('DisableKey as an administrator; --force goes ahead although rekey resources use the key')
    .option('--force', 'override the dependency guard (needs rekey:OverrideKeyDependencies)'))
    .action(async (key: string, o: Common & { force?: boolean }) => {
      printAs(write, formatOf(o), await call(o, 'POST', key, 'disable', o.force ? { force: true } : {}));
    });

  common(kms.command('usage-budget').argument('<key>', 'key id or key ARN')
    .description('Show or set the usage budget: rotate the key when one material version has done N encryptions or N bytes')
    .option('--max-encryptions <n>', 'encryptions per material version')
    .option('--max-bytes <n>', 'plaintext bytes per material version')
    .option('--clear', 'remove the budget'))
    .action(async (key: string, o: Common & { maxEncryptions?: string; maxBytes?: string; clear?: boolean }) => {
      const maxEncryptions = int('--max-encryptions', o.maxEncryptions);
      const maxBytes = int('--max-bytes', o.maxBytes);
      if (o.clear && (maxEncryptions !== undefined || maxBytes !== undefined)) throw new ValidationException('--clear cannot be combined with --max-encryptions or --max-bytes');
      if (!o.clear && maxEncryptions === undefined && maxBytes === undefined) return printAs(write, formatOf(o), await call(o, 'GET', key, 'usage-budget'));
      printAs(write, formatOf(o), await call(o, 'POST', key, 'usage-budget', { ...(maxEncryptions !== undefined ? { maxEncryptions } : {}), ...(maxBytes !== undefined ? { maxBytes } : {}) }));
    });
  return kms;
}
