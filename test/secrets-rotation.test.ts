// Secret rotation through the real SDK: a webhook rotation to a local endpoint (labels during and
// after), a failing step that leaves AWSCURRENT working and the job retryable, the switching window
// of an invalidatesCurrent strategy, schedules, cancel, the deletion job, authorization, and a
// secrets scan of the audit trail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import {
  CreateSecretCommand, GetSecretValueCommand, DescribeSecretCommand, RotateSecretCommand, CancelRotateSecretCommand,
  DeleteSecretCommand, PutResourcePolicyCommand, type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { rejects } from '../src/kms/testing.ts';
import { signature } from '../src/secrets/rotation/webhooks.ts';
import { constantTimeEqual } from '../src/crypto/index.ts';
import { registerSecretsCommands } from '../src/cli/secrets-command.ts';
import type { DbSecret, RotationStrategy, StepContext } from '../src/secrets/strategy.ts';

// ---- a rotation endpoint on the loopback address

interface Seen { step: string; token: string; pendingStages?: string[]; current?: string }
let hook: Server;
let hookUrl = '';
let signingSecret = '';
let failStep: string | null = null;
const seen: Seen[] = [];
const badSignatures: string[] = [];

// ---- an invalidatesCurrent strategy whose setSecret waits to be released (the switching window)
let entered: () => void = () => {};
let release: () => void = () => {};
let enteredP = Promise.resolve();
let releaseP = Promise.resolve();
function arm(): void {
  enteredP = new Promise((r) => (entered = r));
  releaseP = new Promise((r) => (release = r));
}
const switching: RotationStrategy = {
  name: 'test-switching', needsMaster: false, invalidatesCurrent: true,
  createPending: (current: DbSecret, _p: DbSecret | undefined, password: string) => ({ ...current, password }),
  async setSecret(_ctx: StepContext) { entered(); await releaseP; },
  async testSecret() {},
};

// ---- a needsMaster strategy that records what the job passes it
const recorded: { step: string; master?: string; previous?: string; current: string; pending: string }[] = [];
const recorder: RotationStrategy = {
  name: 'test-alternating', needsMaster: true, invalidatesCurrent: false,
  createPending: (current: DbSecret, _p: DbSecret | undefined, password: string) => ({ ...current, username: current.username.endsWith('_clone') ? current.username.slice(0, -6) : `${current.username}_clone`, password }),
  async setSecret(ctx: StepContext) { recorded.push({ step: 'setSecret', current: ctx.current.username, pending: ctx.pending.username, ...(ctx.master ? { master: ctx.master.username } : {}), ...(ctx.previous ? { previous: ctx.previous.username } : {}) }); },
  async testSecret(ctx: StepContext) { recorded.push({ step: 'testSecret', current: ctx.current.username, pending: ctx.pending.username }); },
  async finishSecret(ctx: StepContext) { recorded.push({ step: 'finishSecret', current: ctx.current.username, pending: ctx.pending.username }); },
};

let s: TestServer;
let sm: SecretsManagerClient;
const LAMBDA = (fn: string) => `arn:aws:lambda:us-east-1:111122223333:function:${fn}`;

async function rekey(args: string[]): Promise<string> {
  let out = '';
  const program = new Command().exitOverride();
  registerSecretsCommands(program, { out: { write: (x: string) => (out += x) }, env: { AWS_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey, REKEY_ENDPOINT: s.url } });
  await program.parseAsync(['node', 'rekey', 'secrets', ...args]);
  return out;
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  s = await startTestServer({ env: { REKEY_SECRETS_WEBHOOK_HTTP_LOOPBACK: '1', REKEY_AUDIT_STDOUT: 'false' }, secretStrategies: [switching, recorder] });
  sm = s.secretsClient();
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      const ts = String(req.headers['x-rekey-timestamp']);
      const expected = Buffer.from(signature(signingSecret, ts, body));
      const got = Buffer.from(String(req.headers['x-rekey-signature']));
      if (expected.length !== got.length || !constantTimeEqual(expected, got)) badSignatures.push(body);
      const ev = JSON.parse(body) as { Step: string; SecretId: string; ClientRequestToken: string };
      const entry: Seen = { step: ev.Step, token: ev.ClientRequestToken };
      if (ev.Step === 'setSecret') {
        const p = await sm.send(new GetSecretValueCommand({ SecretId: ev.SecretId, VersionId: ev.ClientRequestToken }));
        entry.pendingStages = p.VersionStages;
        entry.current = (await sm.send(new GetSecretValueCommand({ SecretId: ev.SecretId }))).SecretString;
      }
      seen.push(entry);
      res.statusCode = failStep === ev.Step ? 500 : 200;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const addr = hook.address();
  hookUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/rotate`;
  const added = JSON.parse(await rekey(['webhooks', 'add', 'db-rotator', hookUrl, '--output', 'json']));
  signingSecret = added.signingSecret;
  assert.equal(added.name, 'db-rotator');
});
after(async () => {
  hook.close();
  await s.cleanup();
});

const uniq = (p: string) => `${p}-${Math.random().toString(36).slice(2, 10)}`;

async function labels(id: string): Promise<Record<string, string[]>> {
  return (await sm.send(new DescribeSecretCommand({ SecretId: id }))).VersionIdsToStages ?? {};
}

test('webhooks admin API and CLI: list, refuse duplicates and non-https URLs, remove', async () => {
  assert.match(await rekey(['webhooks', 'list']), /^db-rotator +http:\/\/127\.0\.0\.1:\d+\/rotate +\d{4}-/m);
  await assert.rejects(rekey(['webhooks', 'add', 'db-rotator', hookUrl]), { code: 'ResourceExistsException' });
  await assert.rejects(rekey(['webhooks', 'add', 'plain', 'http://example.com/x']), { code: 'InvalidParameterException' });
  await rekey(['webhooks', 'add', 'gone', 'https://example.com/x']);
  await rekey(['webhooks', 'remove', 'gone']);
  assert.doesNotMatch(await rekey(['webhooks', 'list']), /gone/);
  await assert.rejects(rekey(['webhooks', 'remove', 'gone']), { code: 'ResourceNotFoundException' });
  // unsigned calls are refused; the routes are in the OpenAPI document
  assert.equal((await fetch(`${s.url}/v1/secrets/webhooks`)).status, 403);
  const doc = await (await fetch(`${s.url}/v1/openapi.json`)).json() as { paths: Record<string, unknown> };
  assert.ok(doc.paths['/v1/secrets/webhooks'] && doc.paths['/v1/secrets/webhooks/{name}']);
});

test('RotateSecret through a webhook: AWSPENDING during the steps, then AWSCURRENT/AWSPREVIOUS', async () => {
  seen.length = 0;
  const name = uniq('rot');
  const c = await sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ engine: 'postgres', host: 'db', username: 'app', password: 'old-password' }) }));
  await rejects(sm.send(new RotateSecretCommand({ SecretId: name })), 'InvalidRequestException', 'No Lambda rotation function ARN is associated with this secret.');
  await rejects(sm.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA('no-such-function') })), 'AccessDeniedException', /cannot invoke the specified Lambda function/);
  await rejects(sm.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA('db-rotator'), RotationRules: { AutomaticallyAfterDays: 5, ScheduleExpression: 'rate(5 days)' } })), 'InvalidParameterException', /both rotation frequency and schedule expression/);
  await rejects(sm.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA('db-rotator'), RotationRules: { ScheduleExpression: 'rate(2 hours)' } })), 'InvalidParameterException', /between 4 and 24 hours/);
  const r = await sm.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA('db-rotator'), RotationRules: { AutomaticallyAfterDays: 30, Duration: '3h' } }));
  assert.ok(r.VersionId);
  await until('rotation', async () => (await labels(name))[r.VersionId!]?.includes('AWSCURRENT'));
  assert.deepEqual(seen.map((x) => x.step), ['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
  assert.ok(seen.every((x) => x.token === r.VersionId));
  assert.deepEqual(badSignatures, []);
  // during setSecret: the new version was AWSPENDING and AWSCURRENT still the old value
  assert.deepEqual(seen[1]!.pendingStages, ['AWSPENDING']);
  assert.equal(JSON.parse(seen[1]!.current!).password, 'old-password');
  assert.deepEqual(await labels(name), { [c.VersionId!]: ['AWSPREVIOUS'], [r.VersionId!]: ['AWSCURRENT'] });
  const now = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString!);
  assert.equal(now.username, 'app');
  assert.equal(now.password.length, 32);
  assert.doesNotMatch(now.password, /[/@"'\\ ]/);
  const d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
  assert.equal(d.RotationEnabled, true);
  assert.equal(d.RotationLambdaARN, LAMBDA('db-rotator'));
  assert.deepEqual(d.RotationRules, { AutomaticallyAfterDays: 30, Duration: '3h' });
  assert.ok(d.LastRotatedDate);
  const days = (d.NextRotationDate!.getTime() - d.LastRotatedDate!.getTime()) / 86_400_000;
  assert.ok(Math.abs(days - 30) < 0.01, String(days));
});

test('a failing step leaves AWSCURRENT working and the job retryable; the retry finishes the rotation', async () => {
  const name = uniq('fail');
  const c = await sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ username: 'u', password: 'keep-me' }) }));
  failStep = 'setSecret';
  try {
    const r = await sm.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA('db-rotator') }));
    const job = await until('a failed attempt', async () => (await s.jobs.list({ kind: 'secrets.rotate' })).jobs.find((j) => j.target === c.ARN && j.lastError));
    assert.equal(job.lastError!.step, 'setSecret');
    assert.match(job.lastError!.message, /HTTP 500/);
    assert.ok(['queued', 'running'].includes(job.state));
    assert.equal(JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString!).password, 'keep-me');
    assert.deepEqual(await labels(name), { [c.VersionId!]: ['AWSCURRENT'], [r.VersionId!]: ['AWSPENDING'] });
    await rejects(sm.send(new RotateSecretCommand({ SecretId: name })), 'InvalidRequestException', "A previous rotation isn't complete. That rotation will be continued.");
    failStep = null;
    await until('the retried rotation', async () => (await labels(name))[r.VersionId!]?.includes('AWSCURRENT'));
    assert.deepEqual(await labels(name), { [c.VersionId!]: ['AWSPREVIOUS'], [r.VersionId!]: ['AWSCURRENT'] });
  } finally {
    failStep = null;
  }
});

test('CancelRotateSecret cancels the job in flight, removes AWSPENDING and turns rotation off', async () => {
  const name = uniq('cancel');
  const c = await sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ username: 'u', password: 'p' }) }));
  failStep = 'testSecret';
  try {
    const r = await sm.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA('db-rotator') }));
    await until('a failed attempt', async () => (await s.jobs.list({ kind: 'secrets.rotate' })).jobs.find((j) => j.target === c.ARN && j.lastError));
    const x = await sm.send(new CancelRotateSecretCommand({ SecretId: name }));
    assert.equal(x.VersionId, r.VersionId);
    const job = (await s.jobs.list({ kind: 'secrets.rotate' })).jobs.find((j) => j.target === c.ARN)!;
    assert.equal(job.state, 'cancelled');
    assert.deepEqual(await labels(name), { [c.VersionId!]: ['AWSCURRENT'] });
    assert.equal((await sm.send(new DescribeSecretCommand({ SecretId: name }))).RotationEnabled, false);
  } finally {
    failStep = null;
  }
});

test('switching window: GetSecretValue(AWSCURRENT) during an invalidatesCurrent setSecret waits for the new password', async () => {
  arm();
  const name = uniq('switch');
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ username: 'u', password: 'before' }) }));
  const r = await sm.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA('rekey-test-switching') }));
  await enteredP; // setSecret runs: the secret is marked switching
  const read = sm.send(new GetSecretValueCommand({ SecretId: name }));
  const pending = await sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' })); // other stages do not wait
  assert.equal(pending.VersionId, r.VersionId);
  release();
  const got = await read;
  assert.equal(got.VersionId, r.VersionId);
  assert.equal(JSON.parse(got.SecretString!).password, JSON.parse(pending.SecretString!).password);
});

test('a needsMaster strategy gets masterarn\'s AWSCURRENT; finishSecret runs after AWSCURRENT moved; alternating twice', async () => {
  const master = await sm.send(new CreateSecretCommand({ Name: uniq('master'), SecretString: JSON.stringify({ engine: 'postgres', host: 'db', username: 'postgres', password: 'm' }) }));
  const name = uniq('alt');
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ engine: 'postgres', host: 'db', username: 'app', password: 'p', masterarn: master.ARN }) }));
  const r1 = await sm.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA('rekey-test-alternating') }));
  await until('rotation 1', async () => (await labels(name))[r1.VersionId!]?.includes('AWSCURRENT'));
  const r2 = await sm.send(new RotateSecretCommand({ SecretId: name }));
  await until('rotation 2', async () => (await labels(name))[r2.VersionId!]?.includes('AWSCURRENT'));
  assert.deepEqual(recorded, [
    { step: 'setSecret', current: 'app', pending: 'app_clone', master: 'postgres' },
    { step: 'testSecret', current: 'app', pending: 'app_clone' },
    { step: 'finishSecret', current: 'app_clone', pending: 'app_clone' },
    { step: 'setSecret', current: 'app_clone', pending: 'app', master: 'postgres', previous: 'app' },
    { step: 'testSecret', current: 'app_clone', pending: 'app' },
    { step: 'finishSecret', current: 'app', pending: 'app' },
  ]);
  assert.equal(JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretString!).masterarn, master.ARN);
});

test('RotateImmediately=false sets the schedule; the schedule starts the rotation; the deletion job removes a deleted secret', async () => {
  const name = uniq('sched');
  const c = await sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify({ username: 'u', password: 'p' }) }));
  const r = await sm.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: LAMBDA('db-rotator'), RotateImmediately: false, RotationRules: { AutomaticallyAfterDays: 1 } }));
  assert.equal(r.VersionId, undefined);
  const d = await sm.send(new DescribeSecretCommand({ SecretId: name }));
  assert.equal(d.RotationEnabled, true);
  assert.deepEqual(Object.keys(await labels(name)), [c.VersionId]);
  const due = d.NextRotationDate!.getTime();
  // scans at the due time (not later: the next occurrence, a day after the rotation, must not be due yet)
  await s.jobs.tick(new Date(due)); // the scheduled start enqueues the rotation
  await until('the scheduled rotation', async () => {
    await s.jobs.tick(new Date(due));
    return Object.values(await labels(name)).some((st) => st.includes('AWSPREVIOUS'));
  });
  assert.deepEqual((await labels(name))[c.VersionId!], ['AWSPREVIOUS']);
  const after = await sm.send(new DescribeSecretCommand({ SecretId: name }));
  assert.ok(after.NextRotationDate!.getTime() > due);
  // deletion after the recovery window
  const del = await sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
  await s.jobs.tick(new Date(del.DeletionDate!.getTime() + 60_000));
  await until('the deletion job', async () => {
    await s.jobs.tick(new Date(del.DeletionDate!.getTime() + 60_000));
    return sm.send(new DescribeSecretCommand({ SecretId: name })).then(() => false, (e: Error) => e.name === 'ResourceNotFoundException');
  });
});

test('authorization: identity policies, a resource policy granting a second principal, explicit deny', async () => {
  const name = uniq('authz');
  const c = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 'shared' }));
  const other = await sm.send(new CreateSecretCommand({ Name: uniq('other'), SecretString: 'private' }));
  const user = await s.iam.principals.createUser(uniq('reader'));
  const key = await s.iam.accessKeys.create(user);
  const reader = s.secretsClient({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey! });
  await rejects(reader.send(new GetSecretValueCommand({ SecretId: c.ARN })), 'AccessDeniedException', `User: ${user.arn} is not authorized to perform: secretsmanager:GetSecretValue on resource: ${c.ARN} because no identity-based policy allows the secretsmanager:GetSecretValue action`);
  await rejects(reader.send(new CreateSecretCommand({ Name: uniq('nope'), SecretString: 'x' })), 'AccessDeniedException', /secretsmanager:CreateSecret/);
  await sm.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: user.arn }, Action: 'secretsmanager:GetSecretValue', Resource: '*' }] }) }));
  assert.equal((await reader.send(new GetSecretValueCommand({ SecretId: c.ARN }))).SecretString, 'shared');
  await rejects(reader.send(new GetSecretValueCommand({ SecretId: other.ARN })), 'AccessDeniedException', /not authorized/);
  // tags as condition keys
  const tagged = await sm.send(new CreateSecretCommand({ Name: uniq('tagged'), SecretString: 'team-a', Tags: [{ Key: 'team', Value: 'a' }] }));
  const untagged = await sm.send(new CreateSecretCommand({ Name: uniq('untagged'), SecretString: 'nobody' }));
  await s.iam.principals.putPolicy('user', user.name, 'by-tag', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: '*', Condition: { StringEquals: { 'secretsmanager:ResourceTag/team': 'a' } } }] }));
  assert.equal((await until('the tag policy', async () => reader.send(new GetSecretValueCommand({ SecretId: tagged.ARN })).catch(() => undefined), 5000)).SecretString, 'team-a');
  await rejects(reader.send(new GetSecretValueCommand({ SecretId: untagged.ARN })), 'AccessDeniedException', /not authorized/);
  // an explicit deny in the resource policy beats the administrator's identity policy
  await sm.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 'secretsmanager:GetSecretValue', Resource: '*' }] }) }));
  await rejects(sm.send(new GetSecretValueCommand({ SecretId: name })), 'AccessDeniedException', /with an explicit deny in a resource-based policy/);
});

test('a customer managed key the caller may not use: AccessDeniedException from KMS', async () => {
  const { CreateKeyCommand } = await import('@aws-sdk/client-kms');
  const key = (await s.kmsClient().send(new CreateKeyCommand({}))).KeyMetadata!;
  const user = await s.iam.principals.createUser(uniq('smonly'));
  await s.iam.principals.putPolicy('user', user.name, 'sm', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'secretsmanager:*', Resource: '*' }] }));
  const k = await s.iam.accessKeys.create(user);
  const smOnly = s.secretsClient({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey! });
  await rejects(smOnly.send(new CreateSecretCommand({ Name: uniq('cmk'), SecretString: 'x', KmsKeyId: key.KeyId })), 'AccessDeniedException', 'Access to KMS is not allowed');
  // the AWS managed key needs no KMS permission
  const name = uniq('managed');
  await smOnly.send(new CreateSecretCommand({ Name: name, SecretString: 'ok' }));
  assert.equal((await smOnly.send(new GetSecretValueCommand({ SecretId: name }))).SecretString, 'ok');
  // with kms:Decrypt/GenerateDataKey via Secrets Manager only, the customer managed key works
  await s.iam.principals.putPolicy('user', user.name, 'kms', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: key.Arn, Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } } }] }));
  await until('the policy change', async () => smOnly.send(new CreateSecretCommand({ Name: uniq('cmk2'), SecretString: 'y', KmsKeyId: key.KeyId })).then(() => true, () => false), 5000);
});

test('no secret value reaches the audit trail (files and store)', async () => {
  const value = `scan-${Math.random().toString(36).slice(2)}-value`;
  const name = uniq('scan');
  await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  await sm.send(new GetSecretValueCommand({ SecretId: name }));
  const fileText = readdirSync(join(s.dataDir, 'audit')).map((f) => readFileSync(join(s.dataDir, 'audit', f))).join('\n');
  const storeText = JSON.stringify((await s.audit.lookup({ maxResults: 1000 })).events);
  for (const text of [fileText, storeText]) {
    assert.ok(text.includes('GetSecretValue'));
    assert.ok(text.includes(name));
    for (const form of [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('hex')]) assert.ok(!text.includes(form), 'a secret value reached the audit trail');
    assert.ok(!text.includes('old-password'));
  }
  // nor the storage files (every value passes the barrier, and secret values are KMS ciphertexts inside it)
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
  for (const f of walk(s.dataDir)) {
    const bytes = readFileSync(f);
    for (const form of [value, 'old-password']) assert.ok(!bytes.includes(Buffer.from(form)), `${form} found in ${f}`);
  }
  // rotation jobs are in the trail as secretsmanager service events
  for (const eventName of ['RotationStarted', 'RotationSucceeded', 'RotationFailed', 'EndSecretDeletion']) {
    const found = (await s.audit.lookup({ eventName, maxResults: 50 })).events.map((r) => r.event);
    assert.ok(found.length >= 1, eventName);
    assert.equal(found[0]!.eventSource, 'secretsmanager.amazonaws.com');
    assert.equal(found[0]!.eventType, 'AwsServiceEvent');
    if (eventName.startsWith('Rotation')) {
      // what docs/SECRETS.md promises: the version the rotation makes and what rotates it
      const data = found[0]!.additionalEventData as Record<string, unknown>;
      assert.equal(data['strategy'], 'db-rotator', eventName);
      assert.equal(data['rotationLambdaArn'], LAMBDA('db-rotator'));
      assert.match(String(data['versionId']), /^[0-9a-f-]{32,64}$/);
    }
  }
  const createEvent = (await s.audit.lookup({ eventName: 'CreateSecret', maxResults: 1000 })).events.map((r) => r.event).find((e) => JSON.stringify(e).includes(name));
  assert.equal((createEvent!.requestParameters as Record<string, unknown>)['name'], name);
});
