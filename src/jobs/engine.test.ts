import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteBackend } from '../storage/sqlite.ts';
import { ManualClock } from './clock.ts';
import { JobEngine, defaultNodeId } from './engine.ts';
import { JobState } from './model.ts';
import { timedSource } from './scheduler.ts';
import { barrierOver, eventually } from './testdata/fixtures.ts';

test('a started engine runs a new job at once (no poll wait), retries on demand, and stops cleanly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-engine-'));
  const backend = new SqliteBackend(join(dir, 'rekey.db'));
  const barrier = await barrierOver(backend);
  // Polls once a minute: anything faster than that below comes from wake().
  const engine = new JobEngine({ barrier, worker: { pollMs: 60_000 }, scheduler: { scanMs: 60_000 } });
  let fail = true;
  engine.registerKind('flip', async (job) => {
    if (job.step === 'start') return { next: 'finish' };
    if (fail) throw new Error('not yet');
    return { done: true };
  }, { backoff: { baseMs: 60_000 } });
  try {
    engine.start();
    await new Promise((r) => setTimeout(r, 20)); // let the first (empty) poll pass
    const { job } = await engine.enqueue({ kind: 'flip', target: 't', data: null, maxAttempts: 1 });
    await eventually(async () => (await engine.get(job.id))?.state === JobState.failed, 3000, 'the job to run and fail');
    const failed = (await engine.get(job.id))!;
    assert.equal(failed.step, 'finish');
    assert.equal(failed.lastError?.message, 'not yet');
    fail = false;
    assert.equal((await engine.retry(job.id)).state, JobState.queued);
    await eventually(async () => (await engine.get(job.id))?.state === JobState.succeeded, 3000, 'the retried job to finish');
  } finally {
    await engine.stop();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tick() scans schedule sources and runs what they created; node ids are unique', async () => {
  const barrier = await barrierOver(new SqliteBackend(':memory:'));
  const clock = new ManualClock('2030-01-03T07:00:00Z');
  const engine = new JobEngine({ barrier, nodeId: 'n1', clock });
  const seen: string[] = [];
  engine.registerKind('report', async (job) => { seen.push(job.target); return { done: true }; });
  const start = new Date('2030-01-01T00:00:00Z');
  engine.addSource(timedSource({ name: 'daily-report', schedule: 'cron(0 6 * * ? *)', startAt: start, job: (at) => ({ kind: 'report', target: at.toISOString().slice(0, 10), data: null }) }));
  const r = await engine.tick();
  assert.deepEqual(r.scan, { offered: 1, created: 1, errors: 0 }); // catch-up runs the newest occurrence only
  assert.equal(r.run.succeeded, 1);
  assert.deepEqual(seen, ['2030-01-03']);
  assert.notEqual(defaultNodeId(), defaultNodeId());
  assert.match(defaultNodeId(), new RegExp(`-${process.pid}-[0-9a-f]{6}$`));
});
