// SIGKILL of rekey at each step of `rekey db change-key` (issue 14: "Killed (SIGKILL) at any step, it
// resumes or rolls back with the old instance serving and nothing lost"). One instance, one change
// of key; a chain of nodes on the same data directory, each started with REKEY_TEST_CRASH_AT=<point>
// (src/db/change-key.ts kills itself there with SIGKILL), the next taking the job over once the
// dead node's lease ran out; a writer inserts through the endpoint the whole time (one connection
// per transaction) and counts what committed. At the end: the new key, every committed row there,
// the old volume gone, the endpoint the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { TERMINAL_STATES, type JobStateName } from '../src/jobs/model.ts';
import { TEST_CREDS } from './helpers/server.ts';
import { cleanUpKilledNodes, startDbNode as startNode, until, type DbNode as Node } from './helpers/db-node.ts';

const POINTS = ['start', 'copy', 'catchup', 'fenced', 'promoting', 'flipped', 'shred'] as const;
const STEP_WITHIN_MS = 240_000;

/**
 * Resolves once `node` has killed itself at `point`. Bounded: if the change-key job ends (an
 * abandoned or failed job never reaches the point) or the point is not reached in time, it fails
 * with the job's state and the node's log instead of hanging the suite (a CI run hung here once).
 */
async function diesAt(node: Node, point: string): Promise<void> {
  let gone = false;
  const exited = node.exited.then(() => { gone = true; });
  const end = Date.now() + STEP_WITHIN_MS;
  while (!gone) {
    await Promise.race([exited, new Promise((r) => setTimeout(r, 250))]);
    if (gone) return;
    const jobs = await node.call('jobs').catch(() => undefined) as { jobs: Array<{ kind: string; state: string }> } | undefined;
    const ck = jobs?.jobs.filter((j) => j.kind === 'db.change-key') ?? [];
    const over = ck.some((j) => TERMINAL_STATES.has(j.state as JobStateName));
    if (gone) return;
    if (over || Date.now() > end) {
      node.proc.kill('SIGKILL');
      await node.exited;
      throw new Error(`the node did not die at ${point} (${over ? 'the job ended first' : `not within ${STEP_WITHIN_MS} ms`}): jobs ${JSON.stringify(ck)}\nnode log:\n${node.stderrTail()}`);
    }
  }
}


test('SIGKILL at each step of change-key: resumes, nothing committed is lost, the old volume goes at the end', { timeout: 900_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rekey-ck-crash-'));
  const env = {
    REKEY_TEST_CHILD_DATA_DIR: dataDir, REKEY_LOG_LEVEL: 'warn', REKEY_AUDIT_FILE: 'none', REKEY_QUOTAS: 'off',
    REKEY_DEV_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey,
  };
  let node: Node | undefined;
  let stop = false;
  let writer: Promise<void> | undefined;
  try {
    node = await startNode(env);
    const keyA = (await node.call('createKey')).KeyMetadata;
    const keyB = (await node.call('createKey')).KeyMetadata;
    await node.call('create', {
      id: 'crashy', engine: 'postgres', engineVersion: '15', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app',
      masterUserPassword: 'ck-crash-pw-1', manageMasterUserPassword: false, storageEncrypted: true, kmsKeyId: keyA.KeyId, deletionProtection: false, tags: [],
    });
    const before = await until('available', async () => { const i = await node!.call('get', 'crashy'); return i.status === 'available' ? i : undefined; });
    const ep = before.endpoint;
    const connect = async () => {
      const c = new pg.Client({ host: ep.address, port: ep.port, user: 'app', password: 'ck-crash-pw-1', database: 'postgres', connectionTimeoutMillis: 5_000, query_timeout: 30_000 });
      c.on('error', () => {});
      await c.connect();
      return c;
    };
    const c0 = await connect();
    await c0.query('CREATE TABLE t (id bigserial primary key, node int)');
    await c0.end();
    let committed = 0;
    let failed = 0;
    let current = 0;
    const servedBy = new Set<number>();
    writer = (async () => {
      while (!stop) {
        let c: pg.Client | undefined;
        try {
          c = await connect();
          await c.query('INSERT INTO t (node) VALUES ($1)', [current]);
          committed++;
          servedBy.add(current);
        } catch {
          failed++;
          await new Promise((r) => setTimeout(r, 50));
        } finally {
          await c?.end().catch(() => {});
        }
      }
    })();
    await until('a first write', async () => committed > 0);
    node.proc.kill('SIGKILL'); // the first node only made the instance
    await node.exited;

    for (const [i, point] of [...POINTS, 'none'].entries()) {
      current = i + 1;
      node = await startNode({ ...env, REKEY_TEST_CRASH_AT: point });
      await node.setOffset((i + 1) * 120_000); // past the dead nodes' leases
      if (i === 0) await node.call('changeKey', 'crashy', keyB.KeyId).catch((e: Error) => assert.equal(e.message, 'node exited'));
      if (point === 'none') break;
      await diesAt(node, point); // killed itself at the point
      t.diagnostic(`killed at ${point}; committed so far ${committed}`);
      if (process.env.DBG) process.stderr.write(`killed at ${point} ${new Date().toISOString()}\n`);
    }
    const done = await until('change-key finished', async () => {
      const i = await node!.call('get', 'crashy');
      return i.status === 'available' && i.kmsKeyId === keyB.Arn ? i : undefined;
    }).catch(async (e: Error) => {
      const jobs = (await node!.call('jobs')).jobs.filter((j: { kind: string }) => j.kind === 'db.change-key');
      throw new Error(`${e.message}: ${JSON.stringify(jobs.map((j: any) => [j.state, j.step, j.attempt, j.progress, j.lastError]))}`);
    });
    await until('a write after', async () => servedBy.has(current));
    stop = true;
    await writer;
    const c = await connect();
    const rows = (await c.query('SELECT count(*)::int AS n FROM t')).rows[0].n as number;
    await c.end();
    t.diagnostic(`committed ${committed} (failed attempts while a node was down or the endpoint held: ${failed}), rows ${rows}; writes served while nodes ${[...servedBy].sort().join(',')} were up`);
    assert.ok(rows >= committed, `every committed row is there (${rows} rows, ${committed} committed)`);
    assert.ok(rows <= committed + 8, 'at most the few writes whose commit answer was lost to a kill are extra');
    assert.deepEqual(done.endpoint, ep, 'same endpoint');
    assert.equal(existsSync(join(dataDir, 'db', before.resourceId)), false, 'old volume shredded');
    assert.equal(existsSync(join(dataDir, 'db', `${before.resourceId}.g1`, 'cipher', 'gocryptfs.conf')), true);
    const jobs = (await node.call('jobs')).jobs.filter((j: { kind: string }) => j.kind === 'db.change-key');
    assert.equal(jobs.length, 1, 'one job, resumed by every node');
    assert.equal(jobs[0].state, 'succeeded');
  } finally {
    stop = true;
    await writer?.catch(() => {});
    if (node) {
      node.proc.kill('SIGTERM');
      await node.exited;
    }
    await cleanUpKilledNodes(dataDir); // servers the killed nodes left running, then the mounts
  }
});
