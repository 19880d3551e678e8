// A worker node for the KMS crash test (src/kms/lifecycle/crash.test.ts): a KmsService and a job
// engine over the shared PostgreSQL store, running the KMS job kinds and schedule sources exactly as
// the server registers them, with a clock REKEY_TEST_CLOCK_OFFSET_MS ahead (so keys created by the
// parent "now" are due). The parent SIGKILLs it at random moments. Each step first appends
// "start <job> <kind> <node> <pid>" to a log (what ran, at least once), then waits 20-120 ms so
// kills land inside steps as well as between them, then runs the real handler.
//
// Usage: crash-worker.ts <postgres url> <nodeId> <start-log>; root key in REKEY_TEST_ROOT (hex).
import { appendFileSync } from 'node:fs';
import { IamService } from '../../../iam/service.ts';
import { JobEngine } from '../../../jobs/engine.ts';
import type { KindOptions, StepHandler } from '../../../jobs/kinds.ts';
import { Barrier } from '../../../storage/barrier.ts';
import { PostgresBackend } from '../../../storage/postgres.ts';
import { KmsService } from '../../service.ts';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const WORKER = { leaseMs: 600, heartbeatMs: 150, pollMs: 25, concurrency: 2 } as const;

async function main(): Promise<void> {
  const [url, nodeId, startLog] = process.argv.slice(2) as [string, string, string];
  const root = Buffer.from(process.env.REKEY_TEST_ROOT ?? '', 'hex');
  const offset = Number(process.env.REKEY_TEST_CLOCK_OFFSET_MS ?? 0);
  const clock = () => new Date(Date.now() + offset);
  const backend = await PostgresBackend.open(url);
  const barrier = await Barrier.unseal(backend, root);
  const iam = new IamService({ barrier, accountId: ACCOUNT, region: REGION, clock });
  const kms = new KmsService({ barrier, region: REGION, accountId: ACCOUNT, iam, clock });
  const report = (e: unknown, where: string) => process.stderr.write(`${nodeId} ${where}: ${String(e)}\n`);
  const engine = new JobEngine({
    barrier, nodeId, clock: { now: clock },
    worker: { ...WORKER, onEvent: (e) => kms.lifecycle.onJobEvent(e), onError: report },
    scheduler: { scanMs: 100, onError: report },
  });
  kms.lifecycle.register({
    registerKind<D>(kind: string, handler: StepHandler<D>, opts?: KindOptions) {
      engine.registerKind<D>(kind, async (job, ctx) => {
        appendFileSync(startLog, `start ${job.id} ${kind} ${nodeId} ${process.pid}\n`);
        await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 100)));
        return handler(job, ctx);
      }, opts);
    },
    addSource: (s) => engine.addSource(s),
    enqueue: (input) => engine.enqueue(input),
  });
  engine.start();
  process.on('SIGTERM', () => {
    void engine.stop().then(() => backend.close()).then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
