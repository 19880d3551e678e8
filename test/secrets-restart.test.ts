// A rotation survives a server restart: the job stopped between steps (createSecret committed, the
// webhook failing in testSecret) resumes after the restart without creating a second pending
// version, and AWSCURRENT kept working throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, ListSecretVersionIdsCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { startTestServer } from './helpers/server.ts';

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a rotation interrupted by a restart resumes from its committed step', async () => {
  const steps: string[] = [];
  let failTest = true;
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const step = (JSON.parse(body) as { Step: string }).Step;
      steps.push(step);
      res.statusCode = step === 'testSecret' && failTest ? 500 : 200;
      res.end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/`;
  let s = await startTestServer({ env: { REKEY_SECRETS_WEBHOOK_HTTP_LOOPBACK: '1' } });
  try {
    await s.secrets.webhooks.add('restart-hook', url);
    let sm = s.secretsClient();
    const c = await sm.send(new CreateSecretCommand({ Name: 'restart/db', SecretString: JSON.stringify({ username: 'u', password: 'stays' }) }));
    const r = await sm.send(new RotateSecretCommand({ SecretId: 'restart/db', RotationLambdaARN: 'arn:aws:lambda:us-east-1:111122223333:function:restart-hook' }));
    await until('a failed testSecret', async () => (await s.jobs.list({ kind: 'secrets.rotate' })).jobs.find((j) => j.lastError?.step === 'testSecret'));
    s = await s.restart();
    sm = s.secretsClient();
    assert.equal(JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: 'restart/db' }))).SecretString!).password, 'stays');
    failTest = false;
    await until('the resumed rotation', async () => (await sm.send(new DescribeSecretCommand({ SecretId: 'restart/db' }))).VersionIdsToStages?.[r.VersionId!]?.includes('AWSCURRENT'));
    // createSecret and setSecret ran once; testSecret until it passed; then finishSecret
    assert.deepEqual(steps.filter((x) => x !== 'testSecret'), ['createSecret', 'setSecret', 'finishSecret']);
    assert.ok(steps.filter((x) => x === 'testSecret').length >= 2);
    const versions = (await sm.send(new ListSecretVersionIdsCommand({ SecretId: 'restart/db', IncludeDeprecated: true }))).Versions!;
    assert.deepEqual(versions.map((v) => [v.VersionId, v.VersionStages]).sort(), [[c.VersionId, ['AWSPREVIOUS']], [r.VersionId, ['AWSCURRENT']]].sort());
  } finally {
    hook.close();
    await s.cleanup();
  }
});
