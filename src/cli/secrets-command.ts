// `rekey secrets webhooks add|list|remove`: rotation webhooks through the admin API
// (/v1/secrets/webhooks, src/http/admin-secrets.ts), SigV4-signed with AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY like `rekey iam`.
//
//   rekey secrets webhooks add NAME URL     prints the signing secret once
//   rekey secrets webhooks list
//   rekey secrets webhooks remove NAME
// Each takes --output table|json (src/cli/output.ts).
import type { Command } from 'commander';
import { formatOf, print, table, withOutput } from './output.ts';
import { callAdmin, connectionOptions, type ConnectionFlags } from './admin-client.ts';
import type { IamCliIo } from './iam-command.ts';

interface Common extends ConnectionFlags { json?: boolean; output?: string }

export function registerSecretsCommands(program: Command, io: IamCliIo = { out: process.stdout, env: process.env }): Command {
  const secrets = program.commands.find((c) => c.name() === 'secrets') ?? program.command('secrets').description('Secrets Manager administration');
  const webhooks = secrets.command('webhooks').description('Rotation webhooks: RotationLambdaARN arn:aws:lambda:<region>:<account>:function:<name> (docs/SECRETS.md)');
  const common = (c: Command) => withOutput(connectionOptions(c));
  const write = (t: string) => io.out.write(t);
  const call = (o: Common, method: 'GET' | 'POST' | 'DELETE', path: string, body?: Record<string, unknown>) => callAdmin(io, o, method, path, body);
  common(webhooks.command('add').argument('<name>').argument('<url>', 'https:// endpoint receiving {Step, SecretId, ClientRequestToken}')
    .description('Register a webhook; prints its signing secret (shown only once)'))
    .action(async (name: string, url: string, o: Common) => {
      print(write, formatOf(o), await call(o, 'POST', '/v1/secrets/webhooks', { name, url }));
    });
  common(webhooks.command('list').option('--json', 'same as --output json').description('List webhooks (without signing secrets)'))
    .action(async (o: Common) => {
      const r = (await call(o, 'GET', '/v1/secrets/webhooks')) as { webhooks: { name: string; url: string; created: string }[] };
      print(write, formatOf(o), r, () => (r.webhooks.length ? table([['NAME', 'URL', 'CREATED'], ...r.webhooks.map((w) => [w.name, w.url, w.created])]) : 'no webhooks\n'));
    });
  common(webhooks.command('remove').argument('<name>').description('Remove a webhook'))
    .action(async (name: string, o: Common) => {
      const r = await call(o, 'DELETE', `/v1/secrets/webhooks/${encodeURIComponent(name)}`);
      print(write, formatOf(o), r, () => `webhook ${name} removed\n`);
    });
  return secrets;
}
