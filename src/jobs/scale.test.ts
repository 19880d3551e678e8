// Finding due work is a range read of the due index: its cost follows the number of due jobs, not
// the number of jobs stored. Asserted on operation counts (exact, not timing-dependent) over the
// real SQLite backend; timings are printed for information.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Op } from '../storage/backend.ts';
import { SqliteBackend } from '../storage/sqlite.ts';
import { DAY, ManualClock } from './clock.ts';
import { JobState, PREFIX } from './model.ts';
import { Worker } from './runner.ts';
import { JobStore } from './store.ts';
import { CountingBackend, barrierOver } from './testdata/fixtures.ts';

async function populate(due: number, future: number) {
  const backend = new CountingBackend(new SqliteBackend(':memory:'));
  const clock = new ManualClock('2030-01-01T00:00:00Z');
  const barrier = await barrierOver(backend);
  const store = new JobStore(barrier, clock);
  const now = clock.now().getTime();
  let ops: Op[] = [];
  for (let i = 0; i < due + future; i++) {
    // Due jobs spread over the past day, the others over the next year, interleaved in creation order.
    const isDue = i % Math.ceil((due + future) / due) === 0 && i / Math.ceil((due + future) / due) < due;
    const runAt = isDue ? now - 1 - (i % DAY) : now + 1 + ((i * 7919) % (365 * DAY));
    ops.push(...store.createOps({ kind: 'one', target: `t${i}`, data: i, runAt }).ops);
    if (ops.length >= 1500) {
      await barrier.transaction(ops);
      ops = [];
    }
  }
  if (ops.length) await barrier.transaction(ops);
  const worker = new Worker({ nodeId: 'w', store, clock, concurrency: 8 });
  worker.registerKind('one', async () => ({ done: true }));
  backend.reset();
  return { backend, worker, store, barrier };
}

async function measure(due: number, future: number) {
  const { backend, worker, barrier } = await populate(due, future);
  const t0 = performance.now();
  const sum = await worker.runDueOnce();
  const ms = performance.now() - t0;
  const c = { ...backend.counts };
  const succeeded = (await barrier.list(`${PREFIX.state}${JobState.succeeded}/`)).length;
  await backend.close();
  return { sum, ms, records: c.getsByPrefix.get('jobs/j/') ?? 0, lists: c.list, listed: c.listed, txns: c.transaction, succeeded };
}

test('10,000 due jobs are found and run with cost linear in due jobs, not in stored jobs', { timeout: 300_000 }, async () => {
  const small = await measure(1_000, 4_000);
  const crowded = await measure(10_000, 40_000);
  for (const [name, r, due] of [['1k due + 4k not due', small, 1_000], ['10k due + 40k not due', crowded, 10_000]] as const) {
    process.stdout.write(`# ${name}: ${r.ms.toFixed(0)} ms, ${(r.ms / due).toFixed(3)} ms/job; ${r.records} record reads, ${r.lists} lists (${r.listed} keys), ${r.txns} transactions\n`);
    assert.equal(r.sum.succeeded, due);
    assert.equal(r.succeeded, due);
    // One record read and two commits (claim, result) per due job: nothing per stored job.
    assert.equal(r.records, due);
    assert.equal(r.txns, 2 * due);
    // Index reads: a short page whenever lanes free up, about two entries per free lane; the
    // jobs that are not due are never read beyond the first one past `now` in each page.
    assert.ok(r.lists <= due + 2, `lists ${r.lists}`);
    assert.ok(r.listed <= 3 * due + 100, `listed ${r.listed}`);
  }
  // Ten times the due jobs, ten times the reads and commits: linear.
  assert.equal(crowded.records, 10 * small.records);
  assert.equal(crowded.txns, 10 * small.txns);
});
