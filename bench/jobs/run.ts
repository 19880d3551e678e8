// bench/jobs: how long the scheduler takes to find and run due automatic rotations, for 10,000 and
// 100,000 keys on the SQLite store (one file, as `rekey server` uses it), with a manual clock.
//
// For each size N: N keys with rotation enabled are written (records + due-index entries, batched),
// the clock is moved past all their dates, then
//   find  = one scheduler scan: list the due index and create one kms.rotate job per key (dedupe)
//   run   = the worker runs every job (claim, rotate, record: each key gets a new version)
//   idle  = a scan after that, when nothing is due: it reads one page of the index, whatever N is
// and prints totals and per-key cost side by side, so linear growth (constant per-key cost) shows.
// A ratio column compares each size's per-key cost with the smallest size's.
//
// Every commit of the SQLite backend is fsynced (synchronous=FULL, on purpose): on a disk, each job's
// three commits (create, claim, result) wait for the disk, and that is most of the cost. BENCH_DIR
// chooses where the database file lives: a directory on tmpfs (/dev/shm) measures rekey's own CPU
// cost; one on the real disk adds the fsyncs a production node pays.
//
// Usage: node --import tsx bench/jobs/run.ts   (BENCH_SIZES=10000,100000, BENCH_DIR=os.tmpdir() by default)
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '../../src/crypto/index.ts';
import { IamService } from '../../src/iam/service.ts';
import { ManualClock } from '../../src/jobs/clock.ts';
import { JobEngine } from '../../src/jobs/engine.ts';
import { keyPath } from '../../src/kms/keystore.ts';
import { lifecycleIndexPaths } from '../../src/kms/lifecycle/paths.ts';
import { newServiceKeyRecord } from '../../src/kms/lifecycle/service-keys.ts';
import { KmsService } from '../../src/kms/service.ts';
import type { Op } from '../../src/storage/backend.ts';
import { Barrier, initializeSeal } from '../../src/storage/barrier.ts';
import { SqliteBackend } from '../../src/storage/sqlite.ts';

const SIZES = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map(Number);
const DIR = process.env.BENCH_DIR ?? tmpdir();
const DAY = 86_400_000;
const T0 = Date.parse('2030-01-01T00:00:00Z');
const SCOPE = { partition: 'aws', region: 'us-east-1', accountId: '111122223333' };

interface Row { n: number; setupMs: number; findMs: number; runMs: number; idleMs: number; created: number; rotated: number; dbMb: number }

async function measure(n: number): Promise<Row> {
  const dir = mkdtempSync(join(DIR, 'rekey-bench-jobs-'));
  const file = join(dir, 'rekey.db');
  const backend = new SqliteBackend(file);
  try {
    const root = randomBytes(32);
    await initializeSeal(backend, root, 'bench');
    const barrier = await Barrier.unseal(backend, root);
    const clock = new ManualClock(T0);
    const now = () => clock.now();
    const iam = new IamService({ barrier, accountId: SCOPE.accountId, region: SCOPE.region, clock: now });
    const kms = new KmsService({ barrier, region: SCOPE.region, accountId: SCOPE.accountId, iam, clock: now });
    const engine = new JobEngine({ barrier, clock, nodeId: 'bench', worker: { concurrency: 8, onEvent: (e) => kms.lifecycle.onJobEvent(e) } });
    kms.lifecycle.register(engine);

    // Setup: N keys (a record with one material, rotation every 90-179 days) and their index entries.
    let t = performance.now();
    for (let i = 0; i < n; i += 500) {
      const ops: Op[] = [];
      for (let j = i; j < Math.min(n, i + 500); j++) {
        const rec = newServiceKeyRecord(SCOPE, 's3', T0);
        const period = 90 + (j % 90);
        rec.keyManager = undefined;
        rec.aliases = [];
        rec.rotation = { ...rec.rotation, periodDays: period, nextRotationDate: T0 + period * DAY + (j % 1000) };
        ops.push(Barrier.putOp(keyPath(rec.keyId), rec, 0));
        for (const p of lifecycleIndexPaths(rec)) ops.push(Barrier.putOp(p, {}));
      }
      await barrier.transaction(ops);
    }
    const setupMs = performance.now() - t;
    clock.set(T0 + 200 * DAY); // every key is due once

    t = performance.now();
    const scan = await engine.scheduler.scanOnce();
    const findMs = performance.now() - t;

    t = performance.now();
    const run = await engine.worker.runDueOnce();
    const runMs = performance.now() - t;

    t = performance.now();
    const idle = await engine.scheduler.scanOnce();
    const idleMs = performance.now() - t;
    if (idle.created !== 0 || scan.created !== n || run.succeeded !== n) throw new Error(`unexpected: scan ${JSON.stringify(scan)} run ${JSON.stringify(run)} idle ${JSON.stringify(idle)}`);
    kms.close();
    return { n, setupMs, findMs, runMs, idleMs, created: scan.created, rotated: run.succeeded, dbMb: statSync(file).size / 1e6 };
  } finally {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (v: number, d = 0) => v.toFixed(d).padStart(9);
const rows: Row[] = [];
for (const n of SIZES) {
  process.stderr.write(`measuring ${n} keys ...\n`);
  rows.push(await measure(n));
}
const base = rows[0]!;
const perKey = (r: Row) => (r.findMs + r.runMs) / r.n;
process.stdout.write(`\nbench/jobs: find and run due automatic rotations, SQLite store in ${DIR} (${process.platform}, node ${process.version})\n\n`);
process.stdout.write('     keys  setup ms   find ms    run ms  total ms  find µs/key  run µs/key  total µs/key  vs ' + base.n + '  idle scan ms\n');
for (const r of rows) {
  process.stdout.write(`${String(r.n).padStart(9)} ${fmt(r.setupMs)} ${fmt(r.findMs)} ${fmt(r.runMs)} ${fmt(r.findMs + r.runMs)} ${fmt((r.findMs * 1000) / r.n, 1).padStart(12)} ${fmt((r.runMs * 1000) / r.n, 1).padStart(11)} ${fmt(perKey(r) * 1000, 1).padStart(13)} ${fmt(perKey(r) / perKey(base), 2).padStart(7)}x ${fmt(r.idleMs, 1).padStart(12)}\n`);
}
process.stdout.write('\nfind: one scheduler scan (due-index range read + one deduped job per key); run: claim, rotate, record per job (8 lanes);\n');
process.stdout.write('idle: a scan when nothing is due (one small page of the index, independent of the number of keys).\n');
