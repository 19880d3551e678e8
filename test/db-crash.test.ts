// SIGKILL of rekey in the middle of CreateDBInstance (issue 13: "a SIGKILL of rekey mid-create
// leaves either a working instance or nothing, never a half-made volume that blocks the name").
// Node A is killed as soon as the instance's encrypted volume exists (before the cluster is
// complete); node B, on the same data directory, takes the db.create job over once A's lease has
// run out, finishes it, and the instance works with its master password. Deleting it then frees
// the name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { TEST_CREDS } from './helpers/server.ts';
import { startDbNode as startNode, until, type DbNode as Node } from './helpers/db-node.ts';



test('SIGKILL mid-create: the next node finishes the instance; delete frees the name', { timeout: 300_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rekey-db-crash-'));
  const env = {
    REKEY_TEST_CHILD_DATA_DIR: dataDir, REKEY_LOG_LEVEL: process.env.DBG ? 'warn' : 'silent', REKEY_AUDIT_FILE: 'none', REKEY_QUOTAS: 'off',
    REKEY_DEV_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey,
  };
  const password = 'crash-test-master-pw-1';
  const input = {
    id: 'crashy', engine: 'postgres', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app', masterUserPassword: password,
    manageMasterUserPassword: false, storageEncrypted: true, deletionProtection: false, tags: [],
  };
  let b: Node | undefined;
  try {
    const a = await startNode(env);
    const created = await a.call('create', input);
    assert.equal(created.status, 'creating');
    const cipher = join(dataDir, 'db', created.resourceId, 'cipher', 'gocryptfs.conf');
    await until('the volume', async () => existsSync(cipher));
    a.proc.kill('SIGKILL');
    await a.exited;
    assert.equal(existsSync(join(dataDir, 'db', created.resourceId, '.initdb')), false, 'killed before the cluster was complete');

    b = await startNode(env);
    await b.setOffset(120_000); // past the dead node's lease
    const inst = await until('available', async () => {
      const i = await b!.call('get', 'crashy');
      return i.status === 'available' ? i : undefined;
    }).catch(async (e: Error) => {
      const jobs = (await b!.call('jobs')).jobs.filter((j: { kind: string }) => j.kind.startsWith('db.'));
      throw new Error(`${e.message}: ${JSON.stringify((await b!.call('get', 'crashy')).status)} jobs ${JSON.stringify(jobs.map((j: { kind: string; state: string; step: string; lastError?: unknown; attempt?: number }) => [j.kind, j.state, j.step, j.attempt, j.lastError]))}`);
    });
    assert.equal(inst.resourceId, created.resourceId);
    const c = new pg.Client({ host: inst.endpoint.address, port: inst.endpoint.port, user: 'app', password, database: 'postgres' });
    await c.connect();
    assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1);
    await c.end();

    await b.call('delete', { id: 'crashy', skipFinalSnapshot: true, deleteAutomatedBackups: true });
    await until('deleted', async () => b!.call('get', 'crashy').then(() => false, (e: Error) => e.name === 'DBInstanceNotFound'));
    assert.deepEqual(readdirSync(join(dataDir, 'db')), [], 'no volume left behind');
    await assert.rejects(b.call('get', 'crashy'), { name: 'DBInstanceNotFound', message: 'DBInstance crashy not found.' });
  } finally {
    if (b) {
      b.proc.kill('SIGTERM');
      await b.exited;
    }
    // a failed run may leave the killed node's volume mounted: never leave mounts behind
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const at = line.split(' ')[1];
      if (at?.startsWith(dataDir)) spawnSync('fusermount3', ['-u', '-z', at]);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});
