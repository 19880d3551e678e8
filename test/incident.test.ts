// Issue 22, item 3's must-show: `rekey incident compromised-key` end to end over a key that protects
// a secret (two versions), a real PostgreSQL instance made through the RDS API (its gocryptfs volume
// key wrapped under the key), a snapshot of it and a MariaDB keyring (keyserve). After the job: the key has a new current
// material; every ciphertext rekey holds under the key (the stored secret values, the instance's
// wrapped volume key, the snapshot's wrapped data key, the keyring's key versions) is made with the
// new material, read from the store; the secret still reads, the instance reboots (its volume unlocks with the re-wrapped key)
// with its rows; the report lists exactly the audit trail's recorded uses of the key and of what it
// protects in the window (checked against the audit lookup), names the principal refused outside
// policy, whose access key --disable-principals made Inactive; the report verifies with the audit
// public key and a modified copy does not. Then compromised-credentials over the secret (rotation
// through a webhook strategy is not configured: reported, not rotated) and over an access key
// (made Inactive).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import * as R from '@aws-sdk/client-rds';
import { CreateKeyCommand, DecryptCommand, DisableKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { startTestServer } from './helpers/server.ts';
import { rdsClient } from './helpers/rds.ts';
import { rekeyCli } from './helpers/rekey-cli.ts';
import { parseCiphertext } from '../src/kms/ciphertext.ts';
import { valuePath, secretPath, type SecretRecord, type StoredValue } from '../src/secrets/model.ts';
import { instancePath, type InstanceRecord } from '../src/db/model.ts';
import { snapshotPath, type SnapshotRecord } from '../src/db/snapshots/model.ts';
import { PATHS, type KeyringRecord } from '../src/keyserve/model.ts';
import { StoreSink } from '../src/audit/sinks/store.ts';
import { lookupEvents } from '../src/audit/lookup.ts';
import { readPublicKey } from '../src/audit/digest.ts';
import { verifyIncidentReport, type IncidentReport } from '../src/compliance/incident/report.ts';

const PASSWORD = 'incident-test-Pass1';

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 240_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: still ${JSON.stringify(v).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

test('compromised key over a secret, a PostgreSQL instance and a snapshot: rotated, everything re-wrapped, every use reported', { timeout: 600_000 }, async (t) => {
  const s = await startTestServer();
  t.after(() => s.cleanup());
  const kms = s.kmsClient();
  const sm = s.secretsClient();
  const rds = rdsClient(s);
  const key = (await kms.send(new CreateKeyCommand({ Description: 'leaked' }))).KeyMetadata!;
  const keyId = key.KeyId!;
  const original = (await s.kms.store.readKey(keyId))!.value.currentMaterialId;

  // what the key protects: a secret with two versions, an encrypted instance, a snapshot of it
  const secret = await sm.send(new CreateSecretCommand({ Name: 'app/db', KmsKeyId: keyId, SecretString: '{"password":"one"}' }));
  await sm.send(new PutSecretValueCommand({ SecretId: secret.ARN!, SecretString: '{"password":"two"}' }));
  // MariaDB keys (keyserve) under it: keys 1 and 2, one version each
  const root = { type: 'Root' as const, arn: `arn:aws:iam::${s.iam.accountId}:root`, accountId: s.iam.accountId, accessKeyId: 'test', principalId: s.iam.accountId, identityPolicies: [] };
  await s.keyserve.createKeyring('appdb', keyId, [1, 2], { caller: root, request: {} });
  await rds.send(new R.CreateDBInstanceCommand({
    DBInstanceIdentifier: 'leaky', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app',
    MasterUserPassword: PASSWORD, DBName: 'appdb', StorageEncrypted: true, KmsKeyId: keyId,
  }));
  const describe = async () => (await rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: 'leaky' }))).DBInstances![0]!;
  const inst = await until('instance available', describe, (i) => i.DBInstanceStatus === 'available');
  const c = new pg.Client({ host: '127.0.0.1', port: inst.Endpoint!.Port!, user: 'app', password: PASSWORD, database: 'appdb' });
  await c.connect();
  await c.query('CREATE TABLE t (id int primary key)');
  await c.query('INSERT INTO t SELECT generate_series(1, 100)');
  await c.end();
  await rds.send(new R.CreateDBSnapshotCommand({ DBSnapshotIdentifier: 'leaky-snap', DBInstanceIdentifier: 'leaky' }));
  await until('snapshot available', async () => (await rds.send(new R.DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'leaky-snap' }))).DBSnapshots![0]!, (x) => x.Status === 'available');

  // uses: the operator encrypts; a user without any permission tries to decrypt (refused: outside policy)
  const blob = (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }))).CiphertextBlob!;
  await s.iam.principals.createUser('mallory');
  const mk = await s.iam.accessKeys.create(await s.iam.principals.getUser('mallory'));
  const mallory = new KMSClient({ endpoint: s.url, region: 'us-east-1', credentials: { accessKeyId: mk.accessKeyId, secretAccessKey: mk.secretAccessKey }, maxAttempts: 1 });
  await assert.rejects(mallory.send(new DecryptCommand({ CiphertextBlob: blob })), (e: Error) => e.name === 'AccessDeniedException');
  await s.audit.settled();

  // the incident, through the CLI and the admin API, followed to the end
  const dir = mkdtempSync(join(tmpdir(), 'rekey-incident-'));
  const out = join(dir, 'report.json');
  const started = Date.now();
  const r = await rekeyCli(['incident', 'compromised-key', keyId, '--disable-principals', '--wait', '--out', out, '--endpoint', s.url]);
  t.diagnostic(`incident job: ${Date.now() - started} ms\n${r.out}`);
  assert.equal(r.status, 0, r.err + r.out);
  assert.match(r.out, /succeeded report: report written/);
  const report = JSON.parse(readFileSync(out, 'utf8')) as IncidentReport;

  // rotated: a new current material, the old one listed as compromised
  const after = (await s.kms.store.readKey(keyId))!.value;
  assert.notEqual(after.currentMaterialId, original);
  assert.deepEqual(report.key!.compromisedMaterials.map((m) => m.id), [original]);
  assert.equal(report.key!.currentMaterial.id, after.currentMaterialId);

  // the old material protects nothing rekey holds: every stored ciphertext under the key, read from the store
  const materials: string[] = [];
  const rec = (await s.barrier.getJSON<SecretRecord>(secretPath('app/db')))!.value;
  for (const vid of Object.keys(rec.versions)) {
    const v = (await s.barrier.getJSON<StoredValue>(valuePath(rec.uid, vid)))!.value;
    for (const b of [v.blob, ...(v.previous ?? [])]) materials.push(parseCiphertext(Buffer.from(b, 'base64')).materialId);
  }
  assert.equal(materials.length, 2);
  const ir = (await s.barrier.getJSON<InstanceRecord>(instancePath('leaky')))!.value;
  materials.push(parseCiphertext(Buffer.from(ir.wrappedVolumeKey!, 'base64')).materialId);
  const sr = (await s.barrier.getJSON<SnapshotRecord>(snapshotPath('leaky-snap')))!.value;
  materials.push(parseCiphertext(Buffer.from(sr.wrappedKey!, 'base64')).materialId);
  // keyserve: a new version of each key under the new material, the first versions re-wrapped to it
  const ring = (await s.barrier.getJSON<KeyringRecord>(PATHS.keyring('appdb')))!.value;
  assert.deepEqual(Object.values(ring.keys).map((vs) => vs.map((v) => v.version)), [[1, 2], [1, 2]]);
  for (const v of Object.values(ring.keys).flat()) {
    materials.push(parseCiphertext(Buffer.from(v.blob, 'base64')).materialId);
    assert.equal(v.materialId, after.currentMaterialId);
  }
  assert.equal(materials.length, 8);
  assert.deepEqual(new Set(materials), new Set([after.currentMaterialId]), 'every ciphertext rekey holds under the key uses the new material');
  assert.deepEqual(report.stillCompromised, []);
  assert.deepEqual(report.holdings.map((h) => `${h.type} ${h.id}`).sort(), ['db-instance leaky', 'db-snapshot leaky-snap', 'keyserve-keyring appdb', ...Object.keys(rec.versions).map((v) => `secret-version app/db:${v}`)].sort());
  assert.deepEqual(report.needChangeKey, ['leaky']);

  // and everything still works under the new material: the secret reads, the instance reboots (unwraps its volume key) with its rows
  assert.equal((await sm.send(new GetSecretValueCommand({ SecretId: secret.ARN! }))).SecretString, '{"password":"two"}');
  await rds.send(new R.RebootDBInstanceCommand({ DBInstanceIdentifier: 'leaky' }));
  await until('rebooting', describe, (i) => i.DBInstanceStatus !== 'available', 30_000).catch(() => undefined);
  const back = await until('available after reboot', describe, (i) => i.DBInstanceStatus === 'available');
  const c2 = new pg.Client({ host: '127.0.0.1', port: back.Endpoint!.Port!, user: 'app', password: PASSWORD, database: 'appdb' });
  await c2.connect();
  assert.equal((await c2.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 100);
  await c2.end();

  // every recorded use in the window: the audit lookup of the key and of each holding, independently
  const store = new StoreSink(s.barrier);
  const expected = new Set<string>();
  for (const arn of new Set([after.arn, ...report.holdings.map((h) => h.arn)])) {
    let token: string | undefined;
    do {
      const page = await lookupEvents(store, { resource: arn, startTime: new Date(report.incident.window.from), endTime: new Date(report.incident.window.to), maxResults: 1000, ...(token ? { nextToken: token } : {}) });
      for (const e of page.events) if (e.event.eventSource !== 'rekey.incident') expected.add(e.event.eventID); // the response's own steps are not uses
      token = page.nextToken;
    } while (token);
  }
  const names = new Set(report.uses.events.map((e) => e.eventName));
  for (const n of ['CreateKey', 'Encrypt', 'Decrypt', 'CreateSecret', 'PutSecretValue', 'CreateDBInstance', 'GenerateDataKey']) assert.ok(names.has(n), `${n} among ${[...names].join(',')}`);
  // a refused call records no resources (its message names the key): the report finds it there
  const refused = (await lookupEvents(store, { principal: mk.accessKeyId, maxResults: 50 })).events.map((e) => e.event);
  assert.deepEqual(refused.map((e) => [e.eventName, e.errorCode, e.resources.length]), [['Decrypt', 'AccessDeniedException', 0]]);
  expected.add(refused[0]!.eventID);
  assert.ok(expected.size >= 8, `uses recorded: ${expected.size}`);
  assert.deepEqual(new Set(report.uses.events.map((e) => e.eventID)), expected);
  assert.equal(report.uses.total, expected.size);
  const m = report.uses.byPrincipal.find((p) => p.principal === `arn:aws:iam::${key.AWSAccountId}:user/mallory`);
  assert.ok(m?.outsidePolicy, JSON.stringify(report.uses.byPrincipal));
  assert.deepEqual(m.accessKeyIds, [mk.accessKeyId]);
  assert.ok(m.sourceIPAddresses.length > 0);
  const rdsUse = report.uses.byPrincipal.find((p) => p.principal === 'rds.us-east-1.amazonaws.com');
  assert.ok(rdsUse && !rdsUse.outsidePolicy, 'rekey acting as RDS is never outside policy');
  assert.ok(!report.uses.byPrincipal.some((p) => p.outsidePolicy && p.principal !== m.principal), 'only the refused principal is outside policy');

  // --disable-principals: mallory's key is Inactive; the reporter's is not
  assert.deepEqual(report.disabled, [{ principal: m.principal, accessKeys: [mk.accessKeyId], sessions: [] }]);
  assert.equal((await s.iam.accessKeys.get(mk.accessKeyId))!.status, 'Inactive');
  assert.equal((await s.iam.accessKeys.get(s.bootstrap.rec.accessKeyId))!.status, 'Active');
  assert.deepEqual(report.actions.map((a) => a.step), ['record', 'rotate', 'rewrap', 'uses', 'disable', 'report']);

  // signed: verifies with the audit public key; a modified copy does not
  const pub = (await readPublicKey(s.barrier))!;
  assert.equal(verifyIncidentReport(report, pub), 'ok');
  assert.equal(verifyIncidentReport({ ...report, uses: { ...report.uses, events: report.uses.events.slice(1) } }, pub), 'bad-signature');
  writeFileSync(join(dir, 'audit.pem'), pub.pem);
  const v = await rekeyCli(['incident', 'verify', out, '--public-key', join(dir, 'audit.pem')]);
  assert.equal(v.status, 0, v.err);
  assert.match(v.out, /incident verify: OK/);

  // the incident's own steps are in the audit trail (rekey.incident)
  await s.audit.settled();
  const steps = await lookupEvents(store, { resource: `arn:aws:rekey:us-east-1:${key.AWSAccountId}:incident/${report.incident.id}`, maxResults: 50 });
  assert.deepEqual([...new Set(steps.events.filter((e) => e.event.eventSource === 'rekey.incident').map((e) => e.event.eventName))].sort(), ['DeactivateAccessKey', 'OpenIncident', 'RewrapKeyHoldings', 'RotateKeyOnDemand', 'SignIncidentReport']);

  // a disabled key cannot be rotated or re-wrapped under: refused before any job starts
  const off = (await kms.send(new CreateKeyCommand({ Description: 'disabled' }))).KeyMetadata!;
  await kms.send(new DisableKeyCommand({ KeyId: off.KeyId! }));
  const refusedStart = await rekeyCli(['incident', 'compromised-key', off.KeyId!, '--endpoint', s.url]);
  assert.equal(refusedStart.status, 2, refusedStart.out);
  assert.match(refusedStart.err, /DisabledException: arn:aws:kms:us-east-1:\d+:key\/[-0-9a-f]+ is disabled\./);
  assert.equal((await s.jobs.list({ kind: 'incident.compromised-key' })).jobs.length, 1);

  // compromised credentials: an access key is made Inactive; a secret without rotation is reported, not changed
  const other = await s.iam.accessKeys.create((await s.iam.principals.createUser('leaker')));
  const cr = await rekeyCli(['incident', 'compromised-credentials', other.accessKeyId, '--wait', '--endpoint', s.url]);
  assert.equal(cr.status, 0, cr.err + cr.out);
  assert.equal((await s.iam.accessKeys.get(other.accessKeyId))!.status, 'Inactive');
  const cs = await rekeyCli(['incident', 'compromised-credentials', 'app/db', '--wait', '--endpoint', s.url]);
  assert.equal(cs.status, 0, cs.err + cs.out);
  const sreport = JSON.parse(cs.out.slice(cs.out.indexOf('{'))) as IncidentReport;
  assert.match(sreport.notes.join('\n'), /no rotation configured: it was NOT rotated/);
  assert.ok(sreport.uses.events.some((e) => e.eventName === 'GetSecretValue'), 'the secret\'s reads are listed');
});
