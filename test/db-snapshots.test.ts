// Snapshots (issue 14, build item 1) through the real @aws-sdk/client-rds against the real server:
// a real PostgreSQL on a real gocryptfs volume under key A; CreateDBSnapshot -> CopyDBSnapshot under
// key B -> RestoreDBInstanceFromDBSnapshot: the restored instance answers with the same rows and
// reports key B. Snapshot files hold no plaintext (canary); a flipped bit, a dropped chunk or a cut
// tail is refused on restore with one clear error and nothing is made. Shapes: botocore
// data/rds/2014-10-31/service-2.json `DBSnapshot`; faults DBSnapshotNotFound 404, the others 400.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import * as R from '@aws-sdk/client-rds';
import { CreateAliasCommand, CreateKeyCommand, DisableKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer } from './helpers/server.ts';
import { rdsClient } from './helpers/rds.ts';
import { STREAM_HEADER_BYTES, STREAM_TAG_BYTES, DEFAULT_CHUNK_BYTES } from '../src/crypto/stream-aead.ts';
import type { SnapshotRecord } from '../src/db/snapshots/model.ts';

const PASSWORD = 'snapshot-test-Pass1';

async function expectError(p: Promise<unknown>, name: string, message: string | RegExp, status = 400): Promise<void> {
  await assert.rejects(p, (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    assert.equal(e.$metadata?.httpStatusCode, status);
    return true;
  });
}

test('snapshot -> copy under a new key -> restore; damaged files refused; final snapshot on delete', { timeout: 600_000 }, async (t) => {
  const s = await startTestServer();
  t.after(() => s.cleanup());
  const rds = rdsClient(s);
  const kms = s.kmsClient();
  const keyA = (await kms.send(new CreateKeyCommand({ Description: 'db key A' }))).KeyMetadata!;
  const keyB = (await kms.send(new CreateKeyCommand({ Description: 'snapshot key B' }))).KeyMetadata!;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/snap-b', TargetKeyId: keyB.KeyId! }));

  const instance = async (id: string) => (await rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!;
  const snapshot = async (id: string) => (await rds.send(new R.DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }))).DBSnapshots![0]!;
  const until = async <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 240_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await get();
      if (ok(v)) return v;
      if (Date.now() > end) throw new Error(`${what}: still ${JSON.stringify(v).slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  const connect = async (port: number) => {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'app', password: PASSWORD, database: 'appdb' });
    await c.connect();
    return c;
  };

  await rds.send(new R.CreateDBInstanceCommand({
    DBInstanceIdentifier: 'src', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app',
    MasterUserPassword: PASSWORD, DBName: 'appdb', StorageEncrypted: true, KmsKeyId: keyA.KeyId,
  }));
  const src = await until('src available', () => instance('src'), (i) => i.DBInstanceStatus === 'available');
  const canary = `snap-canary-${Date.now()}-c41d`;
  let c = await connect(src.Endpoint!.Port!);
  await c.query('CREATE TABLE notes (id int primary key, body text)');
  await c.query('INSERT INTO notes SELECT g, $1 || g FROM generate_series(1, 20000) g', [canary]);
  const before = (await c.query('SELECT count(*)::int AS n, sum(id)::bigint AS s FROM notes')).rows[0];
  await c.end();

  // CreateDBSnapshot: creating at once, available when the job finished
  await expectError(rds.send(new R.CreateDBSnapshotCommand({ DBSnapshotIdentifier: 'x', DBInstanceIdentifier: 'nope' })), 'DBInstanceNotFoundFault', 'DBInstance nope not found.', 404);
  const made = (await rds.send(new R.CreateDBSnapshotCommand({ DBSnapshotIdentifier: 'Snap-1', DBInstanceIdentifier: 'src', Tags: [{ Key: 'team', Value: 'db' }] }))).DBSnapshot!;
  assert.equal(made.DBSnapshotIdentifier, 'snap-1');
  assert.equal(made.Status, 'creating');
  assert.equal(made.DBSnapshotArn, `arn:aws:rds:us-east-1:${keyA.AWSAccountId}:snapshot:snap-1`);
  assert.equal(made.Encrypted, true);
  assert.equal(made.KmsKeyId, keyA.Arn);
  assert.equal(made.DBInstanceIdentifier, 'src');
  assert.equal(made.DbiResourceId, src.DbiResourceId);
  assert.equal(made.SnapshotType, 'manual');
  assert.equal(made.Engine, 'postgres');
  assert.deepEqual(made.TagList, [{ Key: 'team', Value: 'db' }]);
  await expectError(rds.send(new R.CreateDBSnapshotCommand({ DBSnapshotIdentifier: 'snap-1', DBInstanceIdentifier: 'src' })),
    'DBSnapshotAlreadyExistsFault', 'Cannot create the snapshot because a snapshot with the identifier snap-1 already exists.');
  await expectError(rds.send(new R.RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: 'early', DBSnapshotIdentifier: 'snap-1' })),
    'InvalidDBSnapshotStateFault', 'Snapshot snap-1 is not in available state.');
  const snap1 = await until('snap-1 available', () => snapshot('snap-1'), (x) => x.Status === 'available');
  assert.equal(snap1.PercentProgress, 100);
  assert.ok(snap1.SnapshotCreateTime instanceof Date);

  // the job is visible with its progress (bytes, rate)
  const jobs = (await s.jobs.list({})).jobs.filter((j) => j.kind === 'db.snapshot.create');
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0]!.state, 'succeeded');
  assert.match(jobs[0]!.progress?.message ?? '', /^backed up [\d.]+ MB of ~[\d.]+ MB, [\d.]+ MB\/s$/);

  const recOf = async (id: string) => (await s.barrier.getJSON<SnapshotRecord>(`db/snapshots/${id}`))!.value;
  const fileOf = (r: SnapshotRecord) => join(s.dataDir, 'db', 'snapshots', `${r.snapshotResourceId}.rkst`);
  const rec1 = await recOf('snap-1');
  const file1 = readFileSync(fileOf(rec1));
  assert.equal(file1.subarray(0, 6).toString('hex'), '524b53540101', 'a sealed rekey stream (RKST v1, AES-256-GCM)');
  assert.equal(file1.includes(Buffer.from(canary)), false, 'no canary row in plaintext in the snapshot file');
  assert.ok(file1.length > 1_000_000);
  assert.ok(rec1.wrappedKey && !JSON.stringify(rec1).includes(canary));

  // CopyDBSnapshot under key B: decrypt-stream -> encrypt-stream
  const copied = (await rds.send(new R.CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: snap1.DBSnapshotArn, TargetDBSnapshotIdentifier: 'snap-2', KmsKeyId: 'alias/snap-b', CopyTags: true }))).DBSnapshot!;
  assert.equal(copied.Status, 'copying');
  assert.equal(copied.KmsKeyId, keyB.Arn);
  assert.equal(copied.SourceDBSnapshotIdentifier, snap1.DBSnapshotArn);
  assert.deepEqual(copied.TagList, [{ Key: 'team', Value: 'db' }]);
  await expectError(rds.send(new R.CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: 'snap-1', TargetDBSnapshotIdentifier: 'snap-3', KmsKeyId: 'alias/none' })),
    'KMSKeyNotAccessibleFault', 'The specified KMS key [alias/none] does not exist, is not enabled or you do not have permissions to access it.');
  await expectError(rds.send(new R.CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: 'ghost', TargetDBSnapshotIdentifier: 'snap-3' })), 'DBSnapshotNotFoundFault', 'DBSnapshot ghost not found.', 404);
  await until('snap-2 available', () => snapshot('snap-2'), (x) => x.Status === 'available');
  const rec2 = await recOf('snap-2');
  const file2 = readFileSync(fileOf(rec2));
  assert.equal(file2.includes(Buffer.from(canary)), false);
  assert.notEqual(file2.subarray(12, 44).toString('hex'), file1.subarray(12, 44).toString('hex'), 'a fresh salt and data key for the copy');
  // both snapshots count as dependents of their keys
  assert.ok((await s.kms.dependents.list(keyB.KeyId!)).dependents.some((d) => d.arn === copied.DBSnapshotArn && d.type === 'db-snapshot'));
  await expectError(kms.send(new DisableKeyCommand({ KeyId: keyB.KeyId })), 'KMSInvalidStateException', /db-snapshot snap-2/);

  // damaged copies of snap-2's file are refused on restore, and nothing is made
  const W = DEFAULT_CHUNK_BYTES + STREAM_TAG_BYTES;
  const damaged: [string, Buffer, RegExp][] = [
    ['flipped bit', (() => { const b = Buffer.from(file2); b[STREAM_HEADER_BYTES + 2 * W + 1234]! ^= 0x10; return b; })(), /at chunk 2:/],
    ['dropped chunk', Buffer.concat([file2.subarray(0, STREAM_HEADER_BYTES + W), file2.subarray(STREAM_HEADER_BYTES + 2 * W)]), /at chunk 1:/],
    ['truncated tail', file2.subarray(0, file2.length - 100), /at chunk \d+:/],
  ];
  const dbDirBefore = readdirSync(join(s.dataDir, 'db')).sort();
  for (const [what, bytes, at] of damaged) {
    writeFileSync(fileOf(rec2), bytes);
    await expectError(rds.send(new R.RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: 'bad', DBSnapshotIdentifier: 'snap-2' })), 'InvalidDBSnapshotStateFault',
      new RegExp(`^DBSnapshot snap-2 cannot be restored: The stream failed authentication ${at.source}.* it is damaged, truncated or reordered, or the key is wrong\\.$`));
    await expectError(rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: 'bad' })), 'DBInstanceNotFoundFault', 'DBInstance bad not found.', 404);
    assert.deepEqual(readdirSync(join(s.dataDir, 'db')).sort(), dbDirBefore, `${what}: no volume or directory was made`);
  }
  writeFileSync(fileOf(rec2), file2);

  // restore from the copy: a new instance on a new volume, reporting key B, with the same rows
  const restoring = (await rds.send(new R.RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: 'restored', DBSnapshotIdentifier: 'snap-2' }))).DBInstance!;
  assert.equal(restoring.DBInstanceStatus, 'creating');
  assert.equal(restoring.KmsKeyId, keyB.Arn);
  const restored = await until('restored available', () => instance('restored'), (i) => i.DBInstanceStatus === 'available' || i.DBInstanceStatus === 'failed');
  assert.equal(restored.DBInstanceStatus, 'available');
  assert.equal(restored.KmsKeyId, keyB.Arn);
  assert.equal(restored.StorageEncrypted, true);
  assert.notEqual(restored.DbiResourceId, src.DbiResourceId);
  assert.notEqual(restored.Endpoint!.Port, src.Endpoint!.Port);
  c = await connect(restored.Endpoint!.Port!);
  assert.deepEqual((await c.query('SELECT count(*)::int AS n, sum(id)::bigint AS s FROM notes')).rows[0], before);
  assert.equal((await c.query('SELECT body FROM notes WHERE id = 777')).rows[0].body, `${canary}777`);
  await c.end();
  const restoredRoot = s.db.core.runtime.paths({ resourceId: restored.DbiResourceId!, storageEncrypted: true });
  assert.ok(existsSync(join(restoredRoot.cipherDir, 'gocryptfs.conf')), 'the restored instance has its own gocryptfs volume');

  // DeleteDBInstance with a final snapshot: the snapshot first (under the instance's key), then the instance
  const deleting = (await rds.send(new R.DeleteDBInstanceCommand({ DBInstanceIdentifier: 'restored', FinalDBSnapshotIdentifier: 'restored-final' }))).DBInstance!;
  assert.equal(deleting.DBInstanceStatus, 'deleting');
  const final = await until('final snapshot', () => snapshot('restored-final'), (x) => x.Status === 'available');
  assert.equal(final.KmsKeyId, keyB.Arn);
  assert.equal(final.DBInstanceIdentifier, 'restored');
  await until('restored gone', () => rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: 'restored' })).then(() => 'there', (e: Error) => e.name), (v) => v === 'DBInstanceNotFoundFault');

  // DescribeDBSnapshots: by instance, by filter, paging
  const all = (await rds.send(new R.DescribeDBSnapshotsCommand({}))).DBSnapshots!.map((x) => x.DBSnapshotIdentifier);
  assert.deepEqual(all, ['restored-final', 'snap-1', 'snap-2']);
  assert.deepEqual((await rds.send(new R.DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'restored' }))).DBSnapshots!.map((x) => x.DBSnapshotIdentifier), ['restored-final']);
  assert.deepEqual((await rds.send(new R.DescribeDBSnapshotsCommand({ Filters: [{ Name: 'db-snapshot-id', Values: ['snap-2'] }] }))).DBSnapshots!.map((x) => x.DBSnapshotIdentifier), ['snap-2']);
  assert.deepEqual((await rds.send(new R.DescribeDBSnapshotsCommand({ SnapshotType: 'automated' }))).DBSnapshots, []);
  await expectError(rds.send(new R.DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'ghost' })), 'DBSnapshotNotFoundFault', 'DBSnapshot ghost not found.', 404);

  // DeleteDBSnapshot: file, grant and dependent go
  const gone = (await rds.send(new R.DeleteDBSnapshotCommand({ DBSnapshotIdentifier: 'snap-2' }))).DBSnapshot!;
  assert.equal(gone.Status, 'deleting');
  await until('snap-2 gone', () => snapshot('snap-2').then(() => 'there', (e: Error) => e.name), (v) => v === 'DBSnapshotNotFoundFault');
  assert.equal(existsSync(fileOf(rec2)), false);
  assert.equal((await s.kms.dependents.list(keyB.KeyId!)).dependents.some((d) => d.arn === copied.DBSnapshotArn), false);
});
