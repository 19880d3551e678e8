import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Barrier } from '../storage/barrier.ts';
import { MemoryBackend } from '../storage/memory.ts';
import { SqliteBackend } from '../storage/sqlite.ts';
import { DAY, HOUR, ManualClock } from './clock.ts';
import { JobEngine } from './engine.ts';
import { JobState, PREFIX, type Job } from './model.ts';
import { everyDays } from './schedule.ts';
import { Scheduler, type ScheduleSource, timedSource } from './scheduler.ts';
import { JobStore } from './store.ts';
import { assertIndexesConsistent, barrierOver } from './testdata/fixtures.ts';

async function allJobs(store: JobStore): Promise<Job[]> {
  const out: Job[] = [];
  let after: string | undefined;
  do {
    const page = await store.list({ limit: 1000, ...(after ? { after } : {}) });
    out.push(...page.jobs);
    after = page.next;
  } while (after);
  return out;
}

test('a cron source creates one job per occurrence, from its first scan on, and catches up with the newest only', async () => {
  const clock = new ManualClock('2030-01-01T12:00:00Z');
  const barrier = await barrierOver(new MemoryBackend());
  const store = new JobStore(barrier, clock);
  const scheduler = new Scheduler(store, { clock });
  scheduler.addSource(timedSource({ name: 'nightly', schedule: 'cron(0 2 * * ? *)', job: (at) => ({ kind: 'backup', target: 'db', data: { at: at.toISOString() } }) }));
  assert.deepEqual(await scheduler.scanOnce(), { offered: 0, created: 0, errors: 0 }); // first scan: nothing in the past fires
  for (let d = 0; d < 3; d++) {
    clock.advance(DAY);
    assert.equal((await scheduler.scanOnce()).created, 1);
    assert.equal((await scheduler.scanOnce()).created, 0); // a second scan in the same window adds nothing
  }
  clock.advance(10 * DAY); // an outage of ten days
  assert.equal((await scheduler.scanOnce()).created, 1);
  const jobs = await allJobs(store);
  assert.deepEqual(jobs.map((j) => new Date(j.runAt).toISOString()), ['2030-01-02T02:00:00.000Z', '2030-01-03T02:00:00.000Z', '2030-01-04T02:00:00.000Z', '2030-01-14T02:00:00.000Z']);
  assert.deepEqual(jobs.map((j) => j.dedupeKey), jobs.map((j) => `nightly/${new Date(j.runAt).toISOString()}`));
  assert.throws(() => scheduler.addSource(timedSource({ name: 'nightly', schedule: 'rate(1 day)', job: () => ({ kind: 'x', target: 't', data: null }) })), /already registered/);
  assert.throws(() => timedSource({ name: 'bad', schedule: 'rate(1 days)', job: () => ({ kind: 'x', target: 't', data: null }) }), { name: 'ValidationException' });
});

test('nodes scanning the same sources at once create each job once; a failing source does not stop the others', async () => {
  const clock = new ManualClock('2030-01-01T00:00:00Z');
  const barrier = await barrierOver(new MemoryBackend());
  const errors: string[] = [];
  const nodes = Array.from({ length: 4 }, () => {
    const s = new Scheduler(new JobStore(barrier, clock), { clock, onError: (_e, where) => errors.push(where) });
    s.addSource({ name: 'broken', due: () => { throw new Error('source down'); } });
    s.addSource(timedSource({ name: 'hourly', schedule: 'rate(1 hour)', startAt: clock.now(), job: () => ({ kind: 'tick', target: 'x', data: null }) }));
    return s;
  });
  for (let h = 0; h < 24; h++) {
    clock.advance(HOUR);
    const sums = await Promise.all(nodes.map((n) => n.scanOnce()));
    assert.equal(sums.reduce((a, s) => a + s.created, 0), 1, `hour ${h}`);
    assert.ok(sums.every((s) => s.errors === 1));
  }
  assert.equal((await barrier.list(PREFIX.job)).length, 24);
  assert.equal(errors.length, 4 * 24);
  assert.equal(errors.filter((e) => e !== 'schedule source broken').length, 0);
  // A bad item is reported and skipped; the items after it are still enqueued, and the window is
  // offered again next time (the cursor did not move).
  const s = new Scheduler(new JobStore(barrier, clock), { clock, onError: (_e, where) => errors.push(where) });
  const windows: (string | null)[] = [];
  s.addSource({
    name: 'mixed',
    *due({ since }) {
      windows.push(since?.toISOString() ?? null);
      yield { kind: 'tick', target: 'a', data: null, dedupeKey: 'has space' };
      yield { kind: 'tick', target: 'b', data: null, dedupeKey: 'mixed/b' };
    },
  });
  assert.deepEqual(await s.scanOnce(), { offered: 2, created: 1, errors: 1 });
  clock.advance(HOUR);
  assert.deepEqual(await s.scanOnce(), { offered: 2, created: 0, errors: 1 });
  assert.deepEqual(windows, [null, null]);
  assert.match(errors.at(-1)!, /^schedule source mixed: item has space$/);
  await assertIndexesConsistent(barrier);
});

// The shape KMS automatic rotation will take (issue 5, point 2), with a toy key record: a due index
// kms-like/due/<nextRotation ISO>/<keyId> read by a state-based source, and a one-step rotation job
// whose ops move nextRotation and the due entry in the same transaction that finishes the job.
interface ToyKey {
  periodDays: number;
  next: number;
  rotations: number[];
}
const dueKey = (k: string, next: number) => `test/rot-due/${new Date(next).toISOString()}/${k}`;

function rotationSource(barrier: Barrier): ScheduleSource {
  return {
    name: 'toy.rotation',
    async *due({ now }) {
      const bound = now.toISOString();
      let after: string | undefined;
      for (;;) {
        const keys = await barrier.list('test/rot-due/', { limit: 500, ...(after ? { after } : {}) });
        for (const k of keys) {
          const [, , at, keyId] = k.split('/') as [string, string, string, string];
          if (at > bound) return;
          yield { kind: 'toy.rotate', target: keyId, data: { keyId, due: at }, dedupeKey: `toy.rotate/${keyId}/${at}` };
        }
        if (keys.length < 500) return;
        after = keys[keys.length - 1];
      }
    },
  };
}

test('simulated years: every rotation happens on its date, never early, never twice', { timeout: 120_000 }, async () => {
  const start = Date.UTC(2030, 0, 1);
  const clock = new ManualClock(start);
  const barrier = await barrierOver(new SqliteBackend(':memory:'));
  // Two engines on one store: two nodes.
  const engines = ['n1', 'n2'].map((nodeId) => new JobEngine({ barrier, clock, nodeId, worker: { random: Math.random } }));
  const rotate = async (job: Readonly<Job<{ keyId: string; due: string }>>) => {
    const path = `test/keys/${job.data.keyId}`;
    const cur = (await barrier.getJSON<ToyKey>(path))!;
    const due = Date.parse(job.data.due);
    // Idempotent: if the key already moved past this due date, there is nothing left to do.
    if (cur.value.next !== due) return { done: true as const };
    const now = clock.now().getTime();
    const next = everyDays(cur.value.periodDays, new Date(due)).next(new Date(due)).getTime();
    return {
      done: true as const,
      ops: [
        Barrier.putOp(path, { ...cur.value, next, rotations: [...cur.value.rotations, now] }, cur.version),
        { type: 'delete' as const, key: dueKey(job.data.keyId, due) },
        Barrier.putOp(dueKey(job.data.keyId, next), {}),
      ],
    };
  };
  for (const e of engines) {
    e.registerKind('toy.rotate', rotate);
    e.addSource(rotationSource(barrier));
  }
  const periods = [60, 30, 90, 91, 180, 365, 366, 730];
  const KEYS = 64;
  for (let i = 0; i < KEYS; i++) {
    const key: ToyKey = { periodDays: periods[i % periods.length]!, next: start + (1 + (i % 40)) * DAY, rotations: [] };
    await barrier.transaction([Barrier.putOp(`test/keys/k${i}`, key, 0), Barrier.putOp(dueKey(`k${i}`, key.next), {}, 0)]);
  }
  const YEARS = 10;
  const end = start + YEARS * 365 * DAY;
  // One tick per simulated hour on the first day of the run, then per day: the clock only moves here.
  while (clock.now().getTime() < end) {
    clock.advance(clock.now().getTime() < start + DAY ? HOUR : DAY);
    await Promise.all(engines.map((e) => e.tick()));
  }
  let total = 0;
  for (let i = 0; i < KEYS; i++) {
    const k = (await barrier.getJSON<ToyKey>(`test/keys/k${i}`))!.value;
    const first = start + (1 + (i % 40)) * DAY;
    const expected: number[] = [];
    for (let t = first; t <= end; t += k.periodDays * DAY) expected.push(t);
    assert.deepEqual(k.rotations, expected, `k${i} (every ${k.periodDays} days)`);
    total += expected.length;
  }
  const jobs = await barrier.list(`${PREFIX.state}${JobState.succeeded}/`);
  assert.equal(jobs.length, total);
  assert.equal((await barrier.list(PREFIX.due)).length, 0);
  process.stdout.write(`# ${KEYS} keys, ${YEARS} simulated years: ${total} rotations, each on its date exactly once\n`);
  await assertIndexesConsistent(barrier);
});
