// `rekey secrets webhooks add|list|remove`: rotation webhooks through the admin API
// (/v1/secrets/webhooks, src/http/admin-secrets.ts), SigV4-signed with AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY like `rekey iam`.
//
//   rekey secrets webhooks add NAME URL     prints the signing secret once
//   rekey secrets webhooks list [--json]
//   rekey secrets webhooks remove NAME
import type { Command } from 'commander';
import { callAdmin, connectionOptions, type ConnectionFlags } from './admin-client.ts';
import type { IamCliIo } from './iam-command.ts';

interface Common extends ConnectionFlags { json?: boolean }

export function registerSecretsCommands(program: Command, io: IamCliIo = { out: process.stdout, env: process.env }): Command {
  const secrets = program.commands.find((c) => c.name() === 'secrets') ?? program.command('secrets').description('Secrets Manager administration');
  const webhooks = secrets.command('webhooks').description('Rotation webhooks: RotationLambdaARN arn:aws:lambda:<region>:<account>:function:<name> (docs/SECRETS.md)');
  const common = connectionOptions;
  const call = (o: Common, method: 'GET' | 'POST' | 'DELETE', path: string, body?: Record<string, unknown>) => callAdmin(io, o, method, path, body);
  common(webhooks.command('add').argument('<name>').argument('<url>', 'https:// endpoint receiving {Step, SecretId, ClientRequestToken}')
    .description('Register a webhook; prints its signing secret (shown only once)'))
    .action(async (name: string, url: string, o: Common) => {
      io.out.write(JSON.stringify(await call(o, 'POST', '/v1/secrets/webhooks', { name, url }), null, 2) + '\n');
    });
  common(webhooks.command('list').option('--json', 'print the JSON response').description('List webhooks (without signing secrets)'))
    .action(async (o: Common) => {
      const r = (await call(o, 'GET', '/v1/secrets/webhooks')) as { webhooks: { name: string; url: string; created: string }[] };
      if (o.json) return void io.out.write(JSON.stringify(r, null, 2) + '\n');
      for (const w of r.webhooks) io.out.write(`${w.name}\t${w.url}\t${w.created}\n`);
    });
  common(webhooks.command('remove').argument('<name>').description('Remove a webhook'))
    .action(async (name: string, o: Common) => {
      await call(o, 'DELETE', `/v1/secrets/webhooks/${encodeURIComponent(name)}`);
    });
  return secrets;
}
