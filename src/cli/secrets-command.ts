// `rekey secrets webhooks add|list|remove`: rotation webhooks through the admin API
// (/v1/secrets/webhooks, src/http/admin-secrets.ts), SigV4-signed with AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY like `rekey iam`.
//
//   rekey secrets webhooks add NAME URL     prints the signing secret once
//   rekey secrets webhooks list [--json]
//   rekey secrets webhooks remove NAME
import { Option, type Command } from 'commander';
import { callAdmin, DEFAULT_ENDPOINT, type IamCliIo } from './iam-command.ts';

interface Common { endpoint?: string; region?: string; json?: boolean }

export function registerSecretsCommands(program: Command, io: IamCliIo = { out: process.stdout, env: process.env }): Command {
  const secrets = program.commands.find((c) => c.name() === 'secrets') ?? program.command('secrets').description('Secrets Manager administration');
  const webhooks = secrets.command('webhooks').description('Rotation webhooks: RotationLambdaARN arn:aws:lambda:<region>:<account>:function:<name> (docs/SECRETS.md)');
  const common = (c: Command) => c
    .addOption(new Option('--endpoint <url>', `rekey server (env REKEY_ENDPOINT, default ${DEFAULT_ENDPOINT})`))
    .addOption(new Option('--region <region>', 'signing region (env AWS_REGION, default us-east-1)'));
  const call = (o: Common, method: 'GET' | 'POST' | 'DELETE', path: string, body?: Record<string, unknown>) => {
    const endpoint = o.endpoint ?? io.env['REKEY_ENDPOINT'] ?? DEFAULT_ENDPOINT;
    const region = o.region ?? io.env['AWS_REGION'] ?? io.env['AWS_DEFAULT_REGION'] ?? 'us-east-1';
    return callAdmin(io, endpoint, region, method, path, body);
  };
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
