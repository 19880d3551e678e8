// SIGKILL during a rotation step: a server process is killed while the webhook holds setSecret; a
// new process on the same data directory takes the job over once the lease has run out (its clock
// set two minutes ahead), runs setSecret again, and finishes. AWSCURRENT works throughout, and the
// committed createSecret is not repeated (one pending version).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import {
  CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, ListSecretVersionIdsCommand, RotateSecretCommand, SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { TEST_CREDS } from './helpers/server.ts';
import { startServerNode, type ServerNode } from './helpers/server-node.ts';
import { registerSecretsCommands } from '../src/cli/secrets-command.ts';


type Node = ServerNode;

const startNode = startServerNode;

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a node SIGKILLed inside setSecret: another node takes the rotation over and finishes it', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rekey-secrets-crash-'));
  const steps: string[] = [];
  let hold = true;
  const held: ServerResponse[] = [];
  let heldSet: () => void = () => {};
  const inSetSecret = new Promise<void>((r) => (heldSet = r));
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const step = (JSON.parse(body) as { Step: string }).Step;
      steps.push(step);
      if (step === 'setSecret' && hold) {
        held.push(res);
        heldSet();
        return;
      }
      res.end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/`;
  const env = {
    REKEY_TEST_CHILD_DATA_DIR: dataDir, REKEY_SECRETS_WEBHOOK_HTTP_LOOPBACK: '1', REKEY_LOG_LEVEL: 'silent', REKEY_AUDIT_FILE: 'none',
    REKEY_DEV_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey,
  };
  let b: Node | undefined;
  try {
    const a = await startNode(env);
    const program = new Command().exitOverride();
    registerSecretsCommands(program, { out: { write: () => {} }, env: { AWS_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey, REKEY_ENDPOINT: a.url } });
    await program.parseAsync(['node', 'rekey', 'secrets', 'webhooks', 'add', 'crash-hook', hookUrl]);
    const smA = new SecretsManagerClient({ endpoint: a.url, region: 'us-east-1', credentials: TEST_CREDS, maxAttempts: 1 });
    const c = await smA.send(new CreateSecretCommand({ Name: 'crash/db', SecretString: JSON.stringify({ username: 'u', password: 'before' }) }));
    const r = await smA.send(new RotateSecretCommand({ SecretId: 'crash/db', RotationLambdaARN: 'arn:aws:lambda:us-east-1:111122223333:function:crash-hook' }));
    await inSetSecret;
    a.proc.kill('SIGKILL');
    await a.exited;
    hold = false;
    for (const res of held) res.destroy();
    b = await startNode(env);
    await b.send({ type: 'offset', ms: 120_000 }, 'offset-set'); // past the dead node's 30 s lease
    const smB = new SecretsManagerClient({ endpoint: b.url, region: 'us-east-1', credentials: TEST_CREDS, maxAttempts: 1 });
    assert.equal(JSON.parse((await smB.send(new GetSecretValueCommand({ SecretId: 'crash/db' }))).SecretString!).password, 'before');
    await until('the rotation on the new node', async () => (await smB.send(new DescribeSecretCommand({ SecretId: 'crash/db' }))).VersionIdsToStages?.[r.VersionId!]?.includes('AWSCURRENT'));
    assert.deepEqual(steps, ['createSecret', 'setSecret', 'setSecret', 'testSecret', 'finishSecret']);
    const versions = (await smB.send(new ListSecretVersionIdsCommand({ SecretId: 'crash/db', IncludeDeprecated: true }))).Versions!;
    assert.deepEqual(versions.map((v) => [v.VersionId, v.VersionStages]).sort(), [[c.VersionId, ['AWSPREVIOUS']], [r.VersionId, ['AWSCURRENT']]].sort());
    assert.notEqual(JSON.parse((await smB.send(new GetSecretValueCommand({ SecretId: 'crash/db' }))).SecretString!).password, 'before');
  } finally {
    hook.close();
    if (b) {
      b.proc.kill('SIGTERM');
      await b.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});
