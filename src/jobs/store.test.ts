import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../storage/backend.ts';
import { Barrier } from '../storage/barrier.ts';
import { MemoryBackend } from '../storage/memory.ts';
import { SqliteBackend } from '../storage/sqlite.ts';
import { ManualClock, SECOND } from './clock.ts';
import { JobState, PREFIX, duePath, jobPath, newJobId, JOB_ID } from './model.ts';
import { JobStore } from './store.ts';
import { assertIndexesConsistent, barrierOver } from './testdata/fixtures.ts';

async function setup(backend: Backend = new MemoryBackend()) {
  const clock = new ManualClock('2030-01-01T00:00:00Z');
  const barrier = await barrierOver(backend);
  return { clock, barrier, store: new JobStore(barrier, clock) };
}

function withSqlite(fn: (b: Backend) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rekey-jobs-'));
    const b = new SqliteBackend(join(dir, 'rekey.db'));
    try {
      await fn(b);
    } finally {
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('job ids are UUIDv7: valid, unique, and sorted by creation time', () => {
  const ids = Array.from({ length: 200 }, (_, i) => newJobId(Date.UTC(2030, 0, 1) + i));
  for (const id of ids) assert.match(id, JOB_ID);
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(Array.from({ length: 1000 }, () => newJobId(0))).size, 1000);
});

test('enqueue stores the record through the barrier with its due and state entries', async () => {
  const { store, barrier, clock } = await setup();
  const { job, created } = await store.enqueue({ kind: 'test.kind', target: 'key-1', data: { n: 1 }, runAt: clock.now().getTime() + 60 * SECOND });
  assert.equal(created, true);
  assert.equal(job.state, JobState.queued);
  assert.equal(job.step, 'start');
  assert.equal(job.attempt, 0);
  assert.equal(duePath(job), `${PREFIX.due}2030-01-01T00:01:00.000Z/${job.id}`);
  assert.deepEqual(await barrier.list(PREFIX.due), [duePath(job)]);
  assert.deepEqual(await barrier.list(PREFIX.state), [`${PREFIX.state}queued/${job.id}`]);
  // Stored encrypted: the raw backend value is not the JSON.
  const raw = await barrier.backend.get(jobPath(job.id));
  assert.ok(raw && !Buffer.from(raw.value).toString('latin1').includes('key-1'));
  assert.deepEqual((await store.get(job.id))?.job, job);
  assert.equal(await store.get('not-an-id'), null);
  await assert.rejects(store.mustGet(newJobId(0)), (e: Error) => e.name === 'NotFoundException' && /does not exist/.test(e.message));
});

test('enqueue validates its input', async () => {
  const { store } = await setup();
  const cases: [Parameters<typeof store.enqueue>[0], RegExp][] = [
    [{ kind: 'Bad Kind', target: 't', data: null }, /invalid job kind/],
    [{ kind: 'k', target: 't', data: null, step: '1step' }, /invalid step name/],
    [{ kind: 'k', target: 't', data: null, maxAttempts: 0 }, /maxAttempts must be/],
    [{ kind: 'k', target: 't', data: null, dedupeKey: 'has space' }, /invalid dedupe key/],
    [{ kind: 'k', target: 't', data: null, runAt: Date.UTC(10000, 0, 1) }, /time out of range/],
  ];
  for (const [input, message] of cases) {
    await assert.rejects(store.enqueue(input), (e: Error) => e.name === 'ValidationException' && message.test(e.message));
  }
});

for (const [name, make] of [['memory', () => new MemoryBackend()], ['sqlite', null]] as const) {
  test(`dedupe: racing creators make exactly one job (${name})`, async () => {
    const run = async (backend: Backend) => {
      // Several stores over one barrier stand for several nodes sharing one database.
      const { barrier, clock } = await setup(backend);
      const stores = Array.from({ length: 5 }, () => new JobStore(barrier, clock));
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => stores[i % 5]!.enqueue({ kind: 'kms.rotate', target: 'k1', data: { i }, dedupeKey: 'kms.rotate/k1/2030-01-01T00:00:00.000Z' })));
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.equal(new Set(results.map((r) => r.job.id)).size, 1);
      assert.equal((await barrier.list(PREFIX.job)).length, 1);
      // A different key is a different job.
      assert.equal((await stores[0]!.enqueue({ kind: 'kms.rotate', target: 'k1', data: {}, dedupeKey: 'kms.rotate/k1/2031-01-01T00:00:00.000Z' })).created, true);
      await assertIndexesConsistent(barrier);
    };
    if (make) await run(make());
    else await withSqlite(run)();
  });
}

test('dedupe: the conflict path (both creators past the pre-check) returns the winner', async () => {
  const { store, barrier } = await setup();
  // Defeat the cheap pre-check so both go to the transaction.
  const s = store as unknown as { byDedupeKey: (k: string) => Promise<unknown> };
  const real = s.byDedupeKey.bind(store);
  let calls = 0;
  s.byDedupeKey = async (k: string) => (++calls <= 2 ? null : real(k));
  const [a, b] = await Promise.all([store.enqueue({ kind: 'k', target: 't', data: 1, dedupeKey: 'd' }), store.enqueue({ kind: 'k', target: 't', data: 2, dedupeKey: 'd' })]);
  assert.equal([a, b].filter((r) => r.created).length, 1);
  assert.equal(a.job.id, b.job.id);
  assert.equal((await barrier.list(PREFIX.job)).length, 1);
});

test('createOps lets a caller create a job atomically with its own writes', async () => {
  const { store, barrier } = await setup();
  const { job, ops } = store.createOps({ kind: 'kms.delete', target: 'k1', data: {}, dedupeKey: 'kms.delete/k1' });
  await assert.rejects(barrier.transaction([...ops, Barrier.putOp('test/other', { x: 1 }, 5)]), { name: 'CasConflict' });
  assert.equal(await store.get(job.id), null); // nothing of the job was written either
  await barrier.transaction([...ops, Barrier.putOp('test/other', { x: 1 }, 0)]);
  assert.equal((await store.get(job.id))?.job.kind, 'kms.delete');
  await assertIndexesConsistent(barrier);
});

test('list: by state and kind, oldest first, with a cursor that visits each job once', async () => {
  const { store, clock } = await setup();
  const ids: string[] = [];
  for (let i = 0; i < 25; i++) {
    clock.advance(1);
    ids.push((await store.enqueue({ kind: i % 2 ? 'odd' : 'even', target: `t${i}`, data: i })).job.id);
  }
  await store.cancel(ids[3]!);
  await store.cancel(ids[4]!);
  const seen: string[] = [];
  let after: string | undefined;
  do {
    const page = await store.list({ limit: 7, ...(after ? { after } : {}) });
    assert.ok(page.jobs.length <= 7);
    seen.push(...page.jobs.map((j) => j.id));
    after = page.next;
  } while (after);
  assert.deepEqual(seen, ids);
  assert.deepEqual((await store.list({ state: 'cancelled' })).jobs.map((j) => j.id), [ids[3], ids[4]]);
  const odd = await store.list({ kind: 'odd', state: 'queued', limit: 100 });
  assert.deepEqual(odd.jobs.map((j) => j.target), ['t1', 't5', 't7', 't9', 't11', 't13', 't15', 't17', 't19', 't21', 't23']);
  assert.equal(odd.next, undefined);
  for (const [q, message] of [[{ state: 'done' }, /state must be one of/], [{ limit: 0 }, /limit must be/], [{ after: '../x' }, /invalid pagination token/]] as const) {
    await assert.rejects(store.list(q as never), (e: Error) => e.name === 'ValidationException' && message.test(e.message));
  }
});

test('cancel and retry follow the state rules', async () => {
  const { store, barrier, clock } = await setup();
  const { job } = await store.enqueue({ kind: 'k', target: 't', data: null, runAt: clock.now().getTime() + 3600 * SECOND });
  const c = await store.cancel(job.id);
  assert.equal(c.state, JobState.cancelled);
  assert.equal(c.finishedAt, clock.now().getTime());
  assert.deepEqual(await barrier.list(PREFIX.due), []);
  assert.deepEqual(await store.cancel(job.id), c); // idempotent
  clock.advance(10 * SECOND);
  const r = await store.retry(job.id);
  assert.equal(r.state, JobState.queued);
  assert.equal(r.runAt, clock.now().getTime());
  assert.equal(r.finishedAt, undefined);
  assert.equal(r.attempt, 0);
  // A queued job waiting for later is made due now.
  const later = (await store.enqueue({ kind: 'k', target: 't', data: null, runAt: clock.now().getTime() + 3600 * SECOND })).job;
  assert.equal((await store.retry(later.id)).runAt, clock.now().getTime());
  // Succeeded jobs can be neither cancelled nor retried.
  const cur = (await store.get(later.id))!;
  await store.write(cur, { ...cur.job, state: JobState.succeeded, finishedAt: clock.now().getTime() });
  await assert.rejects(store.cancel(later.id), (e: Error) => e.name === 'ValidationException' && /is succeeded; only queued or running jobs can be cancelled/.test(e.message));
  await assert.rejects(store.retry(later.id), (e: Error) => e.name === 'ValidationException' && /is succeeded; only failed, cancelled or queued jobs can be retried/.test(e.message));
  await assert.rejects(store.cancel(newJobId(0)), { name: 'NotFoundException' });
  await assertIndexesConsistent(barrier);
});

test('write is compare-and-swap: a stale copy cannot overwrite, and its extra ops are not applied', async () => {
  const { store, barrier } = await setup();
  const { job } = await store.enqueue({ kind: 'k', target: 't', data: null });
  const v1 = (await store.get(job.id))!;
  await store.write(v1, { ...job, step: 'two' });
  await assert.rejects(store.write(v1, { ...job, step: 'stale' }, [Barrier.putOp('test/effect', 1)]), (e: Error) => e.name === 'CasConflict' && (e as unknown as { key: string }).key === jobPath(job.id));
  assert.equal((await store.get(job.id))!.job.step, 'two');
  assert.equal(await barrier.get('test/effect'), null);
});
