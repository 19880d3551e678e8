// SIGKILL of rekey in the middle of a snapshot (issue 14): no half snapshot is ever reported as
// available. Node A is killed while the backup is being written (<id>.partial exists, no .rkst);
// the record still says `creating`; node B, on the same data directory, takes the job over once A's
// lease has run out, writes the snapshot again from its start, and only then reports it available.
// The instance is unencrypted, so the snapshot is too (a plain integrity-checked stream, as RDS
// keeps unencrypted snapshots unencrypted); CopyDBSnapshot with a KmsKeyId makes an encrypted copy,
// and a restore from it is an encrypted instance with the same rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { TEST_CREDS } from './helpers/server.ts';
import { startDbNode as startNode, until, type DbNode as Node } from './helpers/db-node.ts';



test('SIGKILL mid-snapshot: never available half-made; the next node finishes it; plain -> encrypted copy -> restore', { timeout: 480_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rekey-snap-crash-'));
  const env = {
    REKEY_TEST_CHILD_DATA_DIR: dataDir, REKEY_LOG_LEVEL: 'silent', REKEY_AUDIT_FILE: 'none', REKEY_QUOTAS: 'off',
    REKEY_DEV_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey,
  };
  const password = 'snap-crash-master-pw-1';
  let b: Node | undefined;
  try {
    const a = await startNode(env);
    await a.call('create', {
      id: 'plain', engine: 'postgres', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app', masterUserPassword: password,
      manageMasterUserPassword: false, storageEncrypted: false, deletionProtection: false, tags: [],
    });
    const inst = await until('available', async () => { const i = await a.call('get', 'plain'); return i.status === 'available' ? i : undefined; }, 180_000, 300);
    const canary = `crash-canary-${Date.now()}`;
    let c = new pg.Client({ host: inst.endpoint.address, port: inst.endpoint.port, user: 'app', password, database: 'postgres' });
    await c.connect();
    await c.query('CREATE TABLE t (id int primary key, pad text)');
    await c.query(`INSERT INTO t SELECT g, $1 || repeat('x', 200) FROM generate_series(1, 400000) g`, [canary]);
    const before = (await c.query('SELECT count(*)::int AS n, sum(id)::bigint AS s FROM t')).rows[0];
    await c.end();

    const snap = await a.call('createSnapshot', { id: 'snap-k', instanceId: 'plain', tags: [] });
    assert.equal(snap.status, 'creating');
    const dir = join(dataDir, 'db', 'snapshots');
    const partial = await until('the partial file', async () => {
      const { readdirSync } = await import('node:fs');
      const f = existsSync(dir) ? readdirSync(dir).find((x) => x.endsWith('.partial')) : undefined;
      return f && statSync(join(dir, f)).size > 0 ? join(dir, f) : undefined;
    }, 120_000, 10);
    a.proc.kill('SIGKILL');
    await a.exited;
    const file = partial.replace(/\.partial$/, '.rkst');
    assert.equal(existsSync(file), false, 'killed mid-write: no complete file');

    b = await startNode(env);
    const halfway = await b.call('describeSnapshots', { id: 'snap-k', limit: 1 });
    assert.equal(halfway.snapshots[0].status, 'creating', 'a half-made snapshot is never available');
    await assert.rejects(b.call('restoreFromSnapshot', { id: 'early', snapshotId: 'snap-k', deletionProtection: false, tags: [] }),
      { name: 'InvalidDBSnapshotState', message: 'Snapshot snap-k is not in available state.' });
    await b.setOffset(12 * 60 * 60_000); // past the dead node's lease (snapshot steps may run for hours)
    const done = await until('snapshot available', async () => {
      const r = await b!.call('describeSnapshots', { id: 'snap-k', limit: 1 });
      return r.snapshots[0].status !== 'creating' ? r.snapshots[0] : undefined;
    }, 240_000, 300);
    assert.equal(done.status, 'available');
    assert.equal(done.encrypted, false);
    assert.equal(done.percentProgress, 100);
    assert.equal(existsSync(partial), false);
    const head = readFileSync(file).subarray(0, 6).toString('hex');
    assert.equal(head, '524b53540100', 'a plain (integrity-only) rekey stream');

    // an encrypted copy of the unencrypted snapshot (RDS: CopyDBSnapshot with KmsKeyId), then a restore
    const copy = await b.call('copySnapshot', { sourceId: 'snap-k', targetId: 'snap-enc', kmsKeyId: 'alias/aws/rds', copyTags: false, tags: [] });
    assert.equal(copy.encrypted, true);
    assert.match(copy.kmsKeyId, /^arn:aws:kms:us-east-1:\d{12}:key\//);
    await until('copy available', async () => (await b!.call('describeSnapshots', { id: 'snap-enc', limit: 1 })).snapshots[0].status === 'available', 240_000, 300);
    const { readdirSync } = await import('node:fs');
    const encFile = readdirSync(dir).map((f) => join(dir, f)).find((f) => f !== file && f.endsWith('.rkst'))!;
    const enc = readFileSync(encFile);
    assert.equal(enc.subarray(0, 6).toString('hex'), '524b53540101');
    assert.equal(enc.includes(Buffer.from(canary)), false, 'the encrypted copy holds no plaintext');
    await b.call('restoreFromSnapshot', { id: 'back', snapshotId: 'snap-enc', deletionProtection: false, tags: [] });
    const back = await until('restored', async () => { const i = await b!.call('get', 'back'); return i.status === 'available' || i.status === 'failed' ? i : undefined; }, 240_000, 300);
    assert.equal(back.status, 'available');
    assert.equal(back.storageEncrypted, true);
    assert.equal(back.kmsKeyId, copy.kmsKeyId);
    c = new pg.Client({ host: back.endpoint.address, port: back.endpoint.port, user: 'app', password, database: 'postgres' });
    await c.connect();
    assert.deepEqual((await c.query('SELECT count(*)::int AS n, sum(id)::bigint AS s FROM t')).rows[0], before);
    await c.end();
    for (const id of ['plain', 'back']) await b.call('delete', { id, skipFinalSnapshot: true, deleteAutomatedBackups: true });
    await until('deleted', async () => (await b!.call('list', { limit: 100 })).instances.length === 0, 120_000, 300);
  } finally {
    if (b) {
      b.proc.kill('SIGTERM');
      await b.exited;
    }
  }
});
