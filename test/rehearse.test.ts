// `rekey rehearse --until <date>` (issue 18, item 5) over ten simulated years, against a real server
// (HTTPS with rekey's generated CA): automatic rotations every period from NextRotationDate, none
// for a disabled key or one pending deletion, budget rotations at the observed rate, the deletion,
// scheduled secret rotations, server certificate renewals and CA rotations; and nothing written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { CreateKeyCommand, DisableKeyCommand, EnableKeyRotationCommand, EncryptCommand, GetKeyRotationStatusCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand, DescribeSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { registerRehearseCommand } from '../src/cli/rehearse-command.ts';
import { rehearse, type Rehearsal, type RehearsalStore } from '../src/rehearse/rehearse.ts';
import { parseCertificate } from '../src/crypto/x509.ts';
import { CA_PATH, SERVER_PATH, renewAtOf, type CaRecord, type ServerCertRecord } from '../src/certs/model.ts';
import { usagePath } from '../src/kms/lifecycle/paths.ts';
import type { KeyRecord } from '../src/kms/model.ts';

const DAY = 86_400_000;
let s: TestServer;
const keys: Record<string, string> = {};
const arn = (name: string) => `arn:aws:kms:us-east-1:111122223333:key/${keys[name]}`;
let next90 = 0;
let next365 = 0;
let secretNext = 0;
let deletionDate = 0;

before(async () => {
  s = await startTestServer({ env: { REKEY_TLS: 'generated' } });
  const kms = s.kmsClient();
  const create = async (name: string) => (keys[name] = (await kms.send(new CreateKeyCommand({ Description: name }))).KeyMetadata!.KeyId!);
  await kms.send(new EnableKeyRotationCommand({ KeyId: await create('every90'), RotationPeriodInDays: 90 }));
  next90 = (await kms.send(new GetKeyRotationStatusCommand({ KeyId: keys['every90'] }))).NextRotationDate!.getTime();
  await kms.send(new EnableKeyRotationCommand({ KeyId: await create('yearly') }));
  next365 = (await kms.send(new GetKeyRotationStatusCommand({ KeyId: keys['yearly'] }))).NextRotationDate!.getTime();
  await kms.send(new EnableKeyRotationCommand({ KeyId: await create('disabled'), RotationPeriodInDays: 90 }));
  await kms.send(new DisableKeyCommand({ KeyId: keys['disabled'] }));
  await kms.send(new EnableKeyRotationCommand({ KeyId: await create('deleted'), RotationPeriodInDays: 90 }));
  deletionDate = (await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keys['deleted'], PendingWindowInDays: 7 }))).DeletionDate!.getTime();
  // a budget of 100 encryptions, 10 used: at that rate (over the rehearsal's "one day later") a new material every 10 days
  await s.kms.lifecycle.admin().setUsageBudget(await create('budget'), { maxEncryptions: 100 });
  for (let i = 0; i < 10; i++) await kms.send(new EncryptCommand({ KeyId: keys['budget'], Plaintext: Buffer.from('x') }));
  // the usage meter flushes its tally within 250 ms (src/kms/lifecycle/usage.ts): wait for the stored count
  const rec = (await s.barrier.getJSON<KeyRecord>(`kms/keys/${keys['budget']}`))!.value;
  for (let end = Date.now() + 10_000; ((await s.barrier.getJSON<{ encryptions: number }>(usagePath(keys['budget']!, rec.currentMaterialId)))?.value.encryptions ?? 0) < 10;) {
    assert.ok(Date.now() < end, 'the usage counter was not stored');
    await new Promise((r) => setTimeout(r, 25));
  }
  const sm = s.secretsClient();
  await sm.send(new CreateSecretCommand({ Name: 'app/db', SecretString: '{"username":"app","password":"p"}' }));
  const r = await sm.send(new RotateSecretCommand({
    SecretId: 'app/db', RotateImmediately: false, RotationRules: { AutomaticallyAfterDays: 30 },
    RotationLambdaARN: 'arn:aws:lambda:us-east-1:111122223333:function:rekey-postgresql-single-user',
  }));
  assert.ok(r.ARN);
  secretNext = (await sm.send(new DescribeSecretCommand({ SecretId: 'app/db' }))).NextRotationDate!.getTime();
});
after(async () => { await s.cleanup(); });

/** The store as rehearse sees it, failing the test if anything but list/getJSON is touched. */
function readsOnly(): RehearsalStore & { calls: Set<string> } {
  const calls = new Set<string>();
  const view = new Proxy(s.barrier, {
    get(target, prop) {
      calls.add(String(prop));
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return Object.assign({ list: view.list, getJSON: view.getJSON }, { calls });
}

test('ten simulated years: every automatic, budget and secret rotation on its date, the deletions, certificate and CA rotations; only reads', async () => {
  // the rehearsal starts one day after the budget key's material was made: its rate is 10 encryptions a day
  const budgetMaterialAt = Date.now();
  const now = new Date(budgetMaterialAt + DAY);
  const until = new Date(now.getTime() + 3653 * DAY);
  const store = readsOnly();
  const r: Rehearsal = await rehearse(store, { now, until, tlsMode: 'generated' });
  assert.deepEqual([...store.calls].filter((c) => c !== 'list' && c !== 'getJSON'), [], 'the rehearsal only reads');

  const of = (kind: string, subject: string) => r.events.filter((e) => e.kind === kind && e.subject === subject).map((e) => Date.parse(e.at));
  const every = (first: number, period: number) => Array.from({ length: Math.floor((until.getTime() - first) / period) + 1 }, (_, i) => first + i * period);
  assert.deepEqual(of('kms.rotation', arn('every90')), every(next90, 90 * DAY));
  assert.equal(of('kms.rotation', arn('every90')).length, 40);
  assert.deepEqual(of('kms.rotation', arn('yearly')), every(next365, 365 * DAY));
  assert.equal(of('kms.rotation', arn('disabled')).length, 0, 'a disabled key is not rotated');
  assert.deepEqual(of('kms.deletion', arn('deleted')), [deletionDate]);
  assert.equal(r.events.filter((e) => e.subject === arn('deleted') && e.kind !== 'kms.deletion').length, 0, 'a key pending deletion is not rotated');
  // budget: 10 of 100 used in about a day -> used up ~9 days later, then every ~10 days
  const budget = of('kms.rotation.budget', arn('budget'));
  assert.ok(budget.length >= 360 && budget.length <= 370, `budget rotations: ${budget.length}`);
  const gaps = budget.slice(1).map((t, i) => t - budget[i]!);
  assert.ok(gaps.every((g) => Math.abs(g - gaps[0]!) < 1000), 'at a constant rate the budget rotations are evenly spaced');
  assert.ok(Math.abs(gaps[0]! - 10 * DAY) < 0.05 * 10 * DAY, `one budget lasts ~10 days at 10 a day (${gaps[0]! / DAY} days)`);
  // the secret: every 30 days from its next rotation
  const sec = of('secret.rotation', 'app/db');
  assert.equal(sec[0], Math.max(secretNext, now.getTime()));
  assert.ok(sec.length >= 121 && sec.length <= 123, `secret rotations: ${sec.length}`);
  // the server certificate: replaced 2/3 into its life, then every 2/3 of its lifetime
  const cert = parseCertificate((await s.barrier.getJSON<ServerCertRecord>(SERVER_PATH))!.value.certPem);
  const life = cert.notAfter.getTime() - cert.notBefore.getTime();
  const renewals = of('cert.server.renewal', 'server');
  assert.equal(renewals[0], Math.max(renewAtOf(cert).getTime(), now.getTime()));
  assert.equal(renewals.length, Math.floor((until.getTime() - renewals[0]!) / Math.floor((life * 2) / 3)) + 1);
  // the CA: each rotation has its three phases, in order
  assert.ok((await s.barrier.getJSON<CaRecord>(CA_PATH))?.value.certPem);
  const starts = of('cert.ca.rotation.start', 'ca');
  const finishes = of('cert.ca.rotation.finish', 'ca');
  assert.ok(starts.length >= 1, 'a CA rotation within ten years');
  assert.ok(finishes.every((f, i) => f > starts[i]!));
  // in date order, counted
  assert.deepEqual(r.events.map((e) => e.at), [...r.events.map((e) => e.at)].sort());
  assert.equal(r.counts['kms.rotation'], r.events.filter((e) => e.kind === 'kms.rotation').length);
  // besides ours, the AWS managed key behind alias/aws/secretsmanager (made by CreateSecret) rotates yearly
  const others = new Set(r.events.filter((e) => e.kind === 'kms.rotation' && !Object.values(keys).some((k) => e.subject.endsWith(k))).map((e) => e.subject));
  assert.equal(others.size, 1);
  assert.equal(r.counts['kms.rotation'], 40 + of('kms.rotation', arn('yearly')).length * 2);
  assert.equal(r.truncated, false);
  assert.ok(r.notProjected.some((n) => n.startsWith('alarms')));
});

test('rekey rehearse: a table or JSON, --limit cuts the list but not the counts, bad --until refused', async () => {
  let out = '';
  const now = new Date(Date.now() + DAY); // as above: the budget key's rate over a day
  const run = async (...args: string[]) => {
    out = '';
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerRehearseCommand(program, async () => ({ barrier: s.barrier, tls: { tlsMode: 'generated' }, close: async () => {} }), { out: (t) => { out += t; }, now: () => now });
    await program.parseAsync(['rehearse', ...args], { from: 'user' });
    return out;
  };
  const until = new Date(now.getTime() + 365 * DAY).toISOString();
  const text = await run('--until', until);
  assert.match(text, /^rehearsal from .* until .*: nothing was changed\n/);
  assert.match(text, /kms\.rotation +arn:aws:kms:us-east-1:111122223333:key\/\S+ +automatic rotation \(every 90 days\)/);
  assert.match(text, /not projected:\n {2}- alarms/);
  const json = JSON.parse(await run('--until', until, '--output', 'json', '--limit', '3')) as Rehearsal;
  assert.equal(json.events.length, 3);
  assert.equal(json.truncated, true);
  assert.ok(Object.values(json.counts).reduce((a, b) => a + (b ?? 0), 0) > 3);
  await assert.rejects(run('--until', 'tomorrow'), { name: 'ValidationException', message: /--until: not a valid time/ });
  await assert.rejects(run('--until', new Date(now.getTime() - DAY).toISOString()), { name: 'ValidationException', message: /--until must be after now/ });
  await assert.rejects(run('--until', until, '--limit', '0'), { name: 'ValidationException', message: /--limit/ });
});
