// `rekey jobs ls --upcoming` against a real server (issue 18, item 4): automatic key rotations, key
// deletions, scheduled secret rotations and secret deletions with their dates, and usage budgets
// close to their limit, as a table and as JSON.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { CreateKeyCommand, EnableKeyRotationCommand, EncryptCommand, GetKeyRotationStatusCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand, DeleteSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { httpJobsClient, registerJobsCommands } from '../src/cli/jobs-command.ts';

let s: TestServer;
const DAY = 86_400_000;
const keys: Record<string, string> = {};
let rotationDate = '';
let deletionDate = '';

before(async () => {
  s = await startTestServer();
  const kms = s.kmsClient();
  const create = async (name: string) => (keys[name] = (await kms.send(new CreateKeyCommand({ Description: name }))).KeyMetadata!.KeyId!);
  await kms.send(new EnableKeyRotationCommand({ KeyId: await create('rotating'), RotationPeriodInDays: 90 }));
  rotationDate = (await kms.send(new GetKeyRotationStatusCommand({ KeyId: keys['rotating'] }))).NextRotationDate!.toISOString();
  deletionDate = (await kms.send(new ScheduleKeyDeletionCommand({ KeyId: await create('deleted'), PendingWindowInDays: 7 }))).DeletionDate!.toISOString();
  // budgets: 9 of 10 encryptions used (listed at the default 0.8), 1 of 100 (not listed)
  const admin = s.kms.lifecycle.admin();
  await admin.setUsageBudget(await create('nearly'), { maxEncryptions: 10 });
  await admin.setUsageBudget(await create('fresh'), { maxEncryptions: 100 });
  for (let i = 0; i < 9; i++) await kms.send(new EncryptCommand({ KeyId: keys['nearly'], Plaintext: Buffer.from('x') }));
  await kms.send(new EncryptCommand({ KeyId: keys['fresh'], Plaintext: Buffer.from('xy') }));
  const sm = s.secretsClient();
  await sm.send(new CreateSecretCommand({ Name: 'app/rotating', SecretString: '{"username":"app","password":"p"}' }));
  await sm.send(new RotateSecretCommand({
    SecretId: 'app/rotating', RotateImmediately: false, RotationRules: { AutomaticallyAfterDays: 10 },
    RotationLambdaARN: 'arn:aws:lambda:us-east-1:111122223333:function:rekey-postgresql-single-user',
  }));
  await sm.send(new CreateSecretCommand({ Name: 'app/old', SecretString: 'x' }));
  await sm.send(new DeleteSecretCommand({ SecretId: 'app/old', RecoveryWindowInDays: 7 }));
});
after(async () => { await s.cleanup(); });

async function rekey(...args: string[]): Promise<string> {
  let out = '';
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerJobsCommands(program, httpJobsClient, {
    out: (t) => { out += t; },
    env: { REKEY_ENDPOINT: s.url, AWS_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey },
  });
  await program.parseAsync(args, { from: 'user' });
  return out;
}

test('jobs ls --upcoming --output json: every rotation and deletion due within --days, with its date, and the nearly used budget', async () => {
  const v = JSON.parse(await rekey('jobs', 'ls', '--upcoming', '--days', '100', '--output', 'json'));
  const items = v.upcoming.map((u: { kind: string; target: string; at: string }) => [u.kind, u.target]);
  assert.deepEqual(items, [
    ['kms.delete', keys['deleted']],
    ['secrets.delete', 'app/old'],
    ['secrets.rotate', 'app/rotating'],
    ['kms.rotate', keys['rotating']],
  ]);
  const at = Object.fromEntries(v.upcoming.map((u: { kind: string; at: string }) => [u.kind, Date.parse(u.at)]));
  assert.equal(new Date(at['kms.rotate']).toISOString(), rotationDate);
  assert.equal(new Date(at['kms.delete']).toISOString(), deletionDate);
  const now = Date.parse(v.now);
  assert.ok(Math.abs(at['secrets.delete'] - (now + 7 * DAY)) < 60_000, 'the recovery window ends in 7 days');
  assert.ok(at['secrets.rotate'] > now && at['secrets.rotate'] <= now + 10 * DAY, 'the next rotation is within 10 days');
  assert.equal(v.upcoming.find((u: { kind: string }) => u.kind === 'kms.rotate').arn, `arn:aws:kms:us-east-1:111122223333:key/${keys['rotating']}`);
  assert.deepEqual(v.budgets.map((b: { keyId: string; usage: unknown; fraction: number }) => [b.keyId, b.usage, b.fraction]), [[keys['nearly'], { encryptions: 9, bytes: 9 }, 0.9]]);
  assert.equal(v.truncated, false);
  // --days 30: the rotation in 90 days is not listed; --threshold 0: every budget is
  const soon = JSON.parse(await rekey('jobs', 'ls', '--upcoming', '--threshold', '0', '--json'));
  assert.deepEqual(soon.upcoming.map((u: { kind: string }) => u.kind), ['kms.delete', 'secrets.delete', 'secrets.rotate']);
  assert.deepEqual(soon.budgets.map((b: { keyId: string }) => b.keyId), [keys['nearly'], keys['fresh']]);
  // --limit cuts each list and says so (one item per list fits; two budgets do not)
  assert.equal(JSON.parse(await rekey('jobs', 'ls', '--upcoming', '--days', '100', '--limit', '1', '--output', 'json')).truncated, false);
  const cut = JSON.parse(await rekey('jobs', 'ls', '--upcoming', '--threshold', '0', '--limit', '1', '--output', 'json'));
  assert.equal(cut.truncated, true);
  assert.deepEqual(cut.budgets.map((b: { keyId: string }) => b.keyId), [keys['nearly']]);
});

test('jobs ls --upcoming: a table for people', async () => {
  const out = await rekey('jobs', 'ls', '--upcoming', '--days', '100');
  const lines = out.split('\n');
  assert.match(lines[0]!, /^until \d{4}-\d\d-\d\dT/);
  assert.match(lines[1]!, /^AT\s+WHEN\s+WHAT\s+KIND\s+TARGET$/);
  assert.match(lines[2]!, new RegExp(`^${deletionDate.replace(/\./g, '\\.')}\\s+in [67] days\\s+key deletion\\s+kms\\.delete\\s+${keys['deleted']}$`));
  assert.match(out, new RegExp(`${rotationDate.replace(/\./g, '\\.')}\\s+in (89|90) days\\s+key rotation\\s+kms\\.rotate\\s+${keys['rotating']}`));
  assert.match(out, /secret deletion\s+secrets\.delete\s+app\/old/);
  assert.match(out, /usage budgets at least 80% used:\nKEY\s+USED\s+ENCRYPTIONS\s+BYTES\n/);
  assert.match(out, new RegExp(`${keys['nearly']}\\s+90%\\s+9/10`));
  assert.ok(!out.includes(keys['fresh']!));
});

test('jobs ls --upcoming refuses options that do not go with it', async () => {
  await assert.rejects(rekey('jobs', 'ls', '--upcoming', '--state', 'failed'), /--upcoming lists what is scheduled/);
  await assert.rejects(rekey('jobs', 'ls', '--days', '3'), /--days and --threshold go with --upcoming/);
  await assert.rejects(rekey('jobs', 'ls', '--upcoming', '--threshold', '2'), /--threshold must be a number from 0 to 1/);
});
