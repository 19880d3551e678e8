// A worker process for the crash test (src/jobs/crash.test.ts). The parent SIGKILLs it at random
// moments. Each step:
//   1. appends "start <job> <step> <node> <pid> <ms>" to a plain log file: what ran, at least once;
//   2. waits 20-100 ms, so kills land inside steps as well as between them;
//   3. returns its effect as an op: append the step name to test/log/<job>, committed in the same
//      transaction that advances the step. The op carries no CAS of its own on purpose: if the
//      engine ever let two workers record the same step, the step would appear twice.
//
// Usage: crash-child.ts <sqlite|postgres> <file or url> <nodeId> <start-log>; root key in REKEY_TEST_ROOT (hex).
import { appendFileSync } from 'node:fs';
import { Barrier } from '../../storage/barrier.ts';
import type { Backend } from '../../storage/backend.ts';
import { PostgresBackend } from '../../storage/postgres.ts';
import { SqliteBackend } from '../../storage/sqlite.ts';
import { JobEngine } from '../engine.ts';

export const STEPS = ['s1', 's2', 's3', 's4'] as const;
export const CRASH_KIND = 'crash.steps';
export const CRASH_WORKER = { leaseMs: 600, heartbeatMs: 150, pollMs: 25, concurrency: 2 } as const;

async function main(): Promise<void> {
  const [kind, where, nodeId, startLog] = process.argv.slice(2) as [string, string, string, string];
  const root = Buffer.from(process.env.REKEY_TEST_ROOT ?? '', 'hex');
  const backend: Backend = kind === 'sqlite' ? new SqliteBackend(where) : await PostgresBackend.open(where);
  const barrier = await Barrier.unseal(backend, root);
  const engine = new JobEngine({ barrier, nodeId, worker: { ...CRASH_WORKER, onError: (e, ctx) => process.stderr.write(`${nodeId} ${ctx}: ${String(e)}\n`) } });
  engine.registerKind<null>(CRASH_KIND, async (job) => {
    appendFileSync(startLog, `start ${job.id} ${job.step} ${nodeId} ${process.pid} ${Date.now()}\n`);
    await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 80)));
    const path = `test/log/${job.id}`;
    const log = (await barrier.getJSON<string[]>(path))?.value ?? [];
    const ops = [Barrier.putOp(path, [...log, job.step])];
    const i = STEPS.indexOf(job.step as (typeof STEPS)[number]);
    if (i < 0) throw new Error(`unknown step ${job.step}`);
    return i === STEPS.length - 1 ? { done: true, ops } : { next: STEPS[i + 1]!, ops };
  });
  engine.start();
  process.on('SIGTERM', () => {
    void engine.stop().then(() => backend.close()).then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
