// Secrets Manager with the real AWS CLI where it is installed: create-secret, get-secret-value,
// put-secret-value, rotate-secret (through a webhook on the loopback address), errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { awsCli, awsCliSkipReason } from './helpers/aws-cli.ts';

const skip = awsCliSkipReason();
let s: TestServer;
let hook: Server;
let hookUrl = '';
before(async () => {
  if (skip) return;
  s = await startTestServer({ env: { REKEY_SECRETS_WEBHOOK_HTTP_LOOPBACK: '1' } });
  hook = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/`;
});
after(async () => {
  if (skip) return;
  hook.close();
  await s.cleanup();
});

const aws = (args: string[]) => awsCli('secretsmanager', s.url, args);

test('AWS CLI: create-secret, get-secret-value, put-secret-value, rotate-secret, errors', { skip }, async () => {
  const c = await aws(['create-secret', '--name', 'cli/db', '--secret-string', '{"username":"app","password":"one"}', '--query', 'ARN']);
  assert.equal(c.status, 0, c.err);
  assert.match(c.out, /^arn:aws:secretsmanager:us-east-1:111122223333:secret:cli\/db-[A-Za-z0-9]{6}$/);
  const g = await aws(['get-secret-value', '--secret-id', 'cli/db', '--query', 'SecretString']);
  assert.equal(g.status, 0, g.err);
  assert.equal(JSON.parse(g.out).password, 'one');
  const p = await aws(['put-secret-value', '--secret-id', c.out, '--secret-string', '{"username":"app","password":"two"}', '--query', 'VersionStages']);
  assert.equal(p.out, 'AWSCURRENT');
  await s.secrets.webhooks.add('cli-hook', hookUrl);
  const r = await aws(['rotate-secret', '--secret-id', 'cli/db', '--rotation-lambda-arn', 'arn:aws:lambda:us-east-1:111122223333:function:cli-hook', '--rotation-rules', '{"ScheduleExpression":"rate(10 days)","Duration":"2h"}', '--query', 'VersionId']);
  assert.equal(r.status, 0, r.err);
  for (let i = 0; i < 600; i++) {
    const v = await aws(['get-secret-value', '--secret-id', 'cli/db', '--query', 'VersionId']);
    if (v.out === r.out) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  const after = await aws(['get-secret-value', '--secret-id', 'cli/db', '--query', '[VersionId,SecretString]']);
  const [vid, str] = after.out.split('\t');
  assert.equal(vid, r.out);
  assert.notEqual(JSON.parse(str!).password, 'two');
  const d = await aws(['describe-secret', '--secret-id', 'cli/db', '--query', 'RotationRules.ScheduleExpression']);
  assert.equal(d.out, 'rate(10 days)');
  const missing = await aws(['get-secret-value', '--secret-id', 'cli/missing']);
  assert.notEqual(missing.status, 0);
  assert.match(missing.err, /ResourceNotFoundException.*Secrets Manager can't find the specified secret\./);
  const pw = await aws(['get-random-password', '--password-length', '20', '--exclude-punctuation', '--query', 'RandomPassword']);
  assert.match(pw.out, /^[A-Za-z0-9]{20}$/);
});
