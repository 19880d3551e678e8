import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Barrier } from '../storage/barrier.ts';
import { MemoryBackend } from '../storage/memory.ts';
import { ManualClock, SECOND } from './clock.ts';
import type { StepHandler, StepResult } from './kinds.ts';
import { JobState, PREFIX } from './model.ts';
import { type WorkerOptions, type JobEvent, Worker } from './runner.ts';
import { JobStore } from './store.ts';
import { claimTransition } from './transitions.ts';
import { assertIndexesConsistent, barrierOver, eventually, gate } from './testdata/fixtures.ts';

const LEASE = 30 * SECOND;

async function setup() {
  const clock = new ManualClock('2030-01-01T00:00:00Z');
  const barrier = await barrierOver(new MemoryBackend());
  const store = new JobStore(barrier, clock);
  const events: JobEvent[] = [];
  // Heartbeat timers run in real time; at 29 s they never fire during these tests unless a test
  // asks for them, so lease expiry is driven by the manual clock alone.
  const worker = (nodeId: string, extra: Partial<WorkerOptions> = {}) => new Worker({
    nodeId, store, clock, leaseMs: LEASE, heartbeatMs: 29 * SECOND, random: () => 0, onEvent: (e) => events.push(e), ...extra,
  });
  return { clock, barrier, store, worker, events };
}

interface Trail {
  trail: string[];
}

/** start -> two -> three -> done; each step appends to data and writes its effect in the same commit. */
const threeSteps: StepHandler<Trail> = async (job) => {
  const trail = [...job.data.trail, job.step];
  const ops = [Barrier.putOp(`test/effects/${job.id}/${job.step}`, { at: job.step })];
  if (job.step === 'start') return { next: 'two', data: { trail }, ops };
  if (job.step === 'two') return { next: 'three', data: { trail }, ops, progress: { done: 2, total: 3 } };
  return { done: true, data: { trail }, ops, progress: { done: 3, total: 3, message: 'finished' } };
};

test('steps run in order under one lease; data and effects commit with each step', async () => {
  const { store, barrier, worker, events } = await setup();
  const w = worker('a');
  w.registerKind('seq', threeSteps);
  const { job } = await store.enqueue<Trail>({ kind: 'seq', target: 't', data: { trail: [] } });
  const sum = await w.runDueOnce();
  assert.deepEqual({ claimed: sum.claimed, steps: sum.steps, succeeded: sum.succeeded }, { claimed: 1, steps: 3, succeeded: 1 });
  const done = (await store.get<Trail>(job.id))!.job;
  assert.equal(done.state, JobState.succeeded);
  assert.deepEqual(done.data.trail, ['start', 'two', 'three']);
  assert.deepEqual(done.progress, { done: 3, total: 3, message: 'finished' });
  assert.equal(done.lease, null);
  assert.ok(done.finishedAt);
  assert.deepEqual((await barrier.list(`test/effects/${job.id}/`)).sort(), ['start', 'three', 'two'].map((s) => `test/effects/${job.id}/${s}`));
  assert.deepEqual(events.map((e) => `${e.type}:${e.step}`), ['claimed:start', 'step:start', 'step:two', 'succeeded:three']);
  assert.deepEqual(await barrier.list(PREFIX.due), []);
  await assertIndexesConsistent(barrier);
  // Nothing left to do.
  assert.equal((await w.runDueOnce()).scanned, 0);
});

test('a throwing step retries with exponential backoff, then fails with lastError; its ops never land', async () => {
  const { store, barrier, worker, clock } = await setup();
  const w = worker('a');
  let calls = 0;
  w.registerKind('flaky', async (job) => {
    calls++;
    void job;
    throw Object.assign(new Error(`boom ${calls}`), { name: 'UpstreamDown' });
  }, { backoff: { baseMs: 5 * SECOND, factor: 2, jitter: 0.5 } });
  const { job } = await store.enqueue({ kind: 'flaky', target: 't', data: null, maxAttempts: 3 });
  const t0 = clock.now().getTime();
  assert.equal((await w.runDueOnce()).retried, 1);
  let j = (await store.get(job.id))!.job;
  assert.equal(j.state, JobState.queued);
  assert.equal(j.attempt, 1);
  assert.equal(j.runAt, t0 + 5 * SECOND); // random() = 0: the full delay
  assert.deepEqual(j.lastError, { name: 'UpstreamDown', message: 'boom 1', step: 'start', attempt: 1, at: t0 });
  clock.advance(5 * SECOND - 1);
  assert.equal((await w.runDueOnce()).claimed, 0); // not before its time
  clock.advance(1);
  await w.runDueOnce();
  j = (await store.get(job.id))!.job;
  assert.equal(j.runAt, clock.now().getTime() + 10 * SECOND); // doubled
  clock.advance(10 * SECOND);
  assert.equal((await w.runDueOnce()).failed, 1);
  j = (await store.get(job.id))!.job;
  assert.equal(j.state, JobState.failed);
  assert.equal(calls, 3);
  assert.deepEqual(j.lastError, { name: 'UpstreamDown', message: 'boom 3', step: 'start', attempt: 3, at: clock.now().getTime() });
  clock.advance(3600 * SECOND);
  assert.equal((await w.runDueOnce()).claimed, 0);
  assert.equal(calls, 3);
  await assertIndexesConsistent(barrier);
});

test('retryAt is a planned wait that uses up no attempts; an empty result is a counted retry', async () => {
  const { store, worker, clock } = await setup();
  const w = worker('a');
  let polls = 0;
  w.registerKind('waiter', async (_job, ctx) => {
    polls++;
    if (polls < 4) return { retryAt: new Date(ctx.now().getTime() + 3600 * SECOND) };
    return { done: true };
  });
  const { job } = await store.enqueue({ kind: 'waiter', target: 't', data: null, maxAttempts: 1 });
  for (let i = 0; i < 4; i++) {
    await w.runDueOnce();
    clock.advance(3600 * SECOND);
  }
  assert.equal(polls, 4);
  assert.equal((await store.get(job.id))!.job.state, JobState.succeeded);

  let tries = 0;
  w.registerKind('notyet', async (): Promise<StepResult> => (++tries < 3 ? {} : { done: true }));
  const b = (await store.enqueue({ kind: 'notyet', target: 't', data: null, maxAttempts: 2 })).job;
  await w.runDueOnce();
  clock.advance(3600 * SECOND);
  await w.runDueOnce();
  const jb = (await store.get(b.id))!.job;
  assert.equal(tries, 2);
  assert.equal(jb.state, JobState.failed);
  assert.equal(jb.lastError, undefined);
});

test('backoff is capped and jittered within [delay * (1 - jitter), delay]', async () => {
  const { backoffDelay } = await import('./kinds.ts');
  const p = { baseMs: 1000, factor: 2, maxMs: 60_000, jitter: 0.5 };
  assert.deepEqual([1, 2, 3, 4].map((a) => backoffDelay(p, a, () => 0)), [1000, 2000, 4000, 8000]);
  assert.equal(backoffDelay(p, 30, () => 0), 60_000);
  assert.equal(backoffDelay(p, 3, () => 0.999999), 2000);
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(p, 5, Math.random);
    assert.ok(d >= 8000 && d <= 16000, String(d));
  }
});

test('cancel while a step runs: that step\'s effects are discarded and no further step runs', async () => {
  const { store, barrier, worker } = await setup();
  const w = worker('a');
  const entered = gate();
  const release = gate();
  const ran: string[] = [];
  w.registerKind('long', async (job) => {
    ran.push(job.step);
    if (job.step === 'start') {
      entered.open();
      await release.promise;
      return { next: 'two', ops: [Barrier.putOp(`test/effects/${job.id}/start`, 1)] };
    }
    return { done: true };
  });
  const { job } = await store.enqueue({ kind: 'long', target: 't', data: null });
  const run = w.runDueOnce();
  await entered.promise;
  assert.equal((await store.cancel(job.id)).state, JobState.cancelled);
  release.open();
  const sum = await run;
  assert.equal(sum.lost, 1);
  assert.deepEqual(ran, ['start']);
  const j = (await store.get(job.id))!.job;
  assert.equal(j.state, JobState.cancelled);
  assert.equal(j.step, 'start');
  assert.equal(await barrier.get(`test/effects/${job.id}/start`), null);
  await assertIndexesConsistent(barrier);
  // A cancelled queued job never starts.
  const q = (await store.enqueue({ kind: 'long', target: 't', data: null })).job;
  await store.cancel(q.id);
  assert.equal((await w.runDueOnce()).claimed, 0);
  assert.deepEqual(ran, ['start']);
});

test('a dead worker\'s lease expires and another node takes the job over', async () => {
  const { store, barrier, worker, clock } = await setup();
  const { job } = await store.enqueue<Trail>({ kind: 'seq', target: 't', data: { trail: [] } });
  // A worker claims the job and dies without a trace.
  const cur = (await store.get(job.id))!;
  await store.write(cur, claimTransition(cur.job, { nodeId: 'dead-node', now: clock.now().getTime(), leaseMs: LEASE }));
  const b = worker('b');
  b.registerKind('seq', threeSteps);
  assert.equal((await b.runDueOnce()).claimed, 0);
  clock.advance(LEASE - 1);
  assert.equal((await b.runDueOnce()).claimed, 0); // still leased
  clock.advance(1);
  const sum = await b.runDueOnce();
  assert.equal(sum.claimed, 1);
  assert.equal(sum.succeeded, 1);
  const j = (await store.get<Trail>(job.id))!.job;
  assert.deepEqual(j.data.trail, ['start', 'two', 'three']);
  assert.equal(j.lastError?.name, 'LeaseExpired');
  assert.match(j.lastError?.message ?? '', /lease of dead-node expired; taken over by b/);
  await assertIndexesConsistent(barrier);
});

test('a stalled worker that wakes up after losing its lease cannot overwrite the new owner', async () => {
  const { store, barrier, worker, clock } = await setup();
  const a = worker('a');
  const b = worker('b');
  const entered = gate();
  const wake = gate();
  const effects = new Map<string, number>();
  const handler: StepHandler = async (job, ctx) => {
    if (ctx.nodeId === 'a') {
      entered.open();
      await wake.promise;
    }
    effects.set(`${ctx.nodeId}:${job.step}`, (effects.get(`${ctx.nodeId}:${job.step}`) ?? 0) + 1);
    return { done: true, ops: [Barrier.putOp(`test/effects/${job.id}`, { by: ctx.nodeId })] };
  };
  a.registerKind('k', handler);
  b.registerKind('k', handler);
  const { job } = await store.enqueue({ kind: 'k', target: 't', data: null });
  const runA = a.runDueOnce();
  await entered.promise;
  clock.advance(LEASE);
  assert.equal((await b.runDueOnce()).succeeded, 1);
  wake.open();
  const sumA = await runA;
  assert.equal(sumA.lost, 1);
  assert.equal(sumA.succeeded, 0);
  assert.deepEqual((await barrier.getJSON(`test/effects/${job.id}`))?.value, { by: 'b' });
  const j = (await store.get(job.id))!.job;
  assert.equal(j.state, JobState.succeeded);
  assert.equal(j.attempt, 2);
});

test('heartbeats keep the lease while a long step runs (explicit and timer-driven)', async () => {
  const { store, worker, clock } = await setup();
  const a = worker('a');
  const b = worker('b');
  const entered = gate();
  const beat = gate();
  const finish = gate();
  let beats = 0;
  a.registerKind('k', async (_job, ctx) => {
    entered.open();
    await beat.promise;
    await ctx.heartbeat();
    beats++;
    ctx.progress({ done: 1, total: 2, message: 'half' });
    await finish.promise;
    return { done: true };
  });
  b.registerKind('k', async () => ({ done: true }));
  const { job } = await store.enqueue({ kind: 'k', target: 't', data: null });
  const runA = a.runDueOnce();
  await entered.promise;
  clock.advance(20 * SECOND);
  beat.open();
  await eventually(() => beats === 1, 2000, 'heartbeat');
  assert.equal((await store.get(job.id))!.job.lease?.expiresAt, clock.now().getTime() + LEASE);
  clock.advance(20 * SECOND); // 40 s after the claim: past the first lease, within the renewed one
  assert.equal((await b.runDueOnce()).claimed, 0);
  finish.open();
  assert.equal((await runA).succeeded, 1);
  assert.deepEqual((await store.get(job.id))!.job.progress, { done: 1, total: 2, message: 'half' });

  // Timer-driven: a worker heartbeating every 10 ms of real time keeps its lease however far the
  // manual clock moves between heartbeats, as long as each move is shorter than the lease.
  const c = worker('c', { heartbeatMs: 10 });
  const hold = gate();
  const started = gate();
  c.registerKind('k2', async () => {
    started.open();
    await hold.promise;
    return { done: true };
  });
  b.registerKind('k2', async () => ({ done: true }));
  const j2 = (await store.enqueue({ kind: 'k2', target: 't', data: null })).job;
  const runC = c.runDueOnce();
  await started.promise;
  for (let i = 0; i < 3; i++) {
    const now = clock.advance(20 * SECOND).getTime();
    await eventually(async () => ((await store.get(j2.id))!.job.lease?.expiresAt ?? 0) > now, 2000, 'timer heartbeat');
    assert.equal((await b.runDueOnce()).claimed, 0);
  }
  hold.open();
  assert.equal((await runC).succeeded, 1);
});

test('workers racing over the same jobs run every step exactly once', async () => {
  const { store, barrier, worker } = await setup();
  const invocations = new Map<string, number>();
  const handler: StepHandler<Trail> = async (job, ctx) => {
    const k = `${job.id}/${job.step}`;
    invocations.set(k, (invocations.get(k) ?? 0) + 1);
    void ctx;
    return threeSteps(job, ctx);
  };
  // The same shuffle on every worker makes them go for the same job at the same moment.
  const workers = ['a', 'b', 'c', 'd'].map((n) => worker(n, { random: () => 0.5, concurrency: 3 }));
  for (const w of workers) w.registerKind('seq', handler);
  const ids: string[] = [];
  for (let i = 0; i < 60; i++) ids.push((await store.enqueue<Trail>({ kind: 'seq', target: `t${i}`, data: { trail: [] } })).job.id);
  const sums = await Promise.all(workers.map((w) => w.runDueOnce()));
  assert.equal(sums.reduce((n, s) => n + s.claimed, 0), 60);
  assert.ok(sums.reduce((n, s) => n + s.contended, 0) > 0, 'the workers never actually raced');
  assert.equal(invocations.size, 180);
  for (const [k, n] of invocations) assert.equal(n, 1, k);
  for (const id of ids) {
    const j = (await store.get<Trail>(id))!.job;
    assert.equal(j.state, JobState.succeeded);
    assert.deepEqual(j.data.trail, ['start', 'two', 'three']);
  }
  assert.equal((await barrier.list('test/effects/')).length, 180);
  await assertIndexesConsistent(barrier);
});

test('stop() waits for the running step, records it, and hands the job back', async () => {
  const { store, barrier, worker } = await setup();
  const a = worker('a', { pollMs: 5 });
  const entered = gate();
  const release = gate();
  a.registerKind('seq', async (job, ctx) => {
    if (job.step === 'start') {
      entered.open();
      await release.promise;
    }
    return threeSteps(job as never, ctx) as never;
  });
  const { job } = await store.enqueue<Trail>({ kind: 'seq', target: 't', data: { trail: [] } });
  a.start();
  await entered.promise;
  const stopped = a.stop();
  release.open();
  await stopped;
  const j = (await store.get<Trail>(job.id))!.job;
  assert.equal(j.state, JobState.queued);
  assert.equal(j.step, 'two');
  assert.equal(j.attempt, 0);
  assert.equal(j.lease, null);
  assert.deepEqual(j.data.trail, ['start']);
  // Another node continues at once, without waiting for a lease to expire.
  const b = worker('b');
  b.registerKind('seq', threeSteps);
  assert.equal((await b.runDueOnce()).succeeded, 1);
  assert.deepEqual((await store.get<Trail>(job.id))!.job.data.trail, ['start', 'two', 'three']);
  await assertIndexesConsistent(barrier);
});

test('a node without the kind leaves the job to one that has it', async () => {
  const { store, worker } = await setup();
  const { job } = await store.enqueue<Trail>({ kind: 'seq', target: 't', data: { trail: [] } });
  const plain = worker('plain');
  assert.equal((await plain.runDueOnce()).claimed, 0);
  assert.equal((await store.get(job.id))!.job.state, JobState.queued);
  const b = worker('b');
  b.registerKind('seq', threeSteps);
  assert.equal((await b.runDueOnce()).succeeded, 1);
  assert.throws(() => b.registerKind('seq', threeSteps), /already registered/);
});

test('a step that keeps killing its worker fails after maxAttempts starts', async () => {
  const { store, worker, clock } = await setup();
  const { job } = await store.enqueue({ kind: 'k', target: 't', data: null, maxAttempts: 3 });
  for (let i = 1; i <= 3; i++) {
    const cur = (await store.get(job.id))!;
    await store.write(cur, claimTransition(cur.job, { nodeId: `crashing-${i}`, now: clock.now().getTime(), leaseMs: LEASE }));
    clock.advance(LEASE);
  }
  const w = worker('w');
  let ran = 0;
  w.registerKind('k', async () => { ran++; return { done: true }; });
  assert.equal((await w.runDueOnce()).failed, 1);
  assert.equal(ran, 0);
  const j = (await store.get(job.id))!.job;
  assert.equal(j.state, JobState.failed);
  assert.equal(j.lastError?.name, 'LeaseExpired');
  assert.match(j.lastError?.message ?? '', /started 3 times without finishing/);
});

test('malformed results, refused effects and timeouts are failed attempts, not lost jobs', async () => {
  const { store, barrier, worker, clock } = await setup();
  const w = worker('w');
  w.registerKind('badstep', async () => ({ next: 'not a step!' }));
  w.registerKind('badops', async () => ({ done: true, ops: [Barrier.putOp('test/guarded', 1, 7)] }));
  w.registerKind('slow', (_job, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))), { stepTimeoutMs: 20 });
  const ids = {
    badstep: (await store.enqueue({ kind: 'badstep', target: 't', data: null, maxAttempts: 1 })).job.id,
    badops: (await store.enqueue({ kind: 'badops', target: 't', data: null, maxAttempts: 1 })).job.id,
    slow: (await store.enqueue({ kind: 'slow', target: 't', data: null, maxAttempts: 1 })).job.id,
  };
  clock.advance(1);
  assert.equal((await w.runDueOnce()).failed, 3);
  const err = async (id: string) => (await store.get(id))!.job.lastError;
  assert.equal((await err(ids.badstep))?.name, 'ValidationException');
  assert.match((await err(ids.badstep))?.message ?? '', /invalid step name "not a step!"/);
  assert.equal((await err(ids.badops))?.name, 'CasConflict');
  assert.equal(await barrier.get('test/guarded'), null);
  assert.equal((await err(ids.slow))?.name, 'StepTimeout');
  assert.match((await err(ids.slow))?.message ?? '', /step start did not finish within 20 ms/);
  await assertIndexesConsistent(barrier);
});
