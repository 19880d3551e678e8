// Crash test with real processes: worker children are SIGKILLed (or frozen past their lease with
// SIGSTOP) at random moments while they run 4-step jobs; new ones are started; at the end every job
// has succeeded and every step's effect is recorded exactly once, although steps were started more
// than once. On SQLite (one file, several processes) and on PostgreSQL (several nodes, one database).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from '../crypto/index.ts';
import type { Backend } from '../storage/backend.ts';
import { Barrier, initializeSeal } from '../storage/barrier.ts';
import { PostgresBackend } from '../storage/postgres.ts';
import { SqliteBackend } from '../storage/sqlite.ts';
import { SystemClock } from './clock.ts';
import { type Job, JobState, PREFIX, jobPath } from './model.ts';
import { JobStore } from './store.ts';
import { CRASH_KIND, CRASH_WORKER, STEPS } from './testdata/crash-child.ts';
import { assertIndexesConsistent } from './testdata/fixtures.ts';
import { startPostgres } from '../../test/helpers/pg.ts';

const CHILD = fileURLToPath(new URL('./testdata/crash-child.ts', import.meta.url));
const JOBS = 80;

interface Child {
  proc: ChildProcess;
  nodeId: string;
  isReady: boolean;
  stalled?: boolean;
  exited: Promise<void>;
}

function spawnChild(args: string[], nodeId: string, root: Buffer): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { env: { ...process.env, REKEY_TEST_ROOT: root.toString('hex') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const child: Child = { proc, nodeId, isReady: false, exited: new Promise<void>((r) => proc.once('exit', () => r())) };
  proc.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) child.isReady = true; });
  proc.once('exit', (code, signal) => {
    // A child that dies on its own (not by our SIGKILL/SIGTERM) is a failure worth seeing.
    if (signal === null && code !== 0) process.stderr.write(`crash child exited ${code}: ${stderr}\n`);
  });
  return child;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo));

async function crashRun(opts: { backend: Backend; childArgs: string[]; nodes: number; kills: number; stalls: number; dir: string }) {
  const root = randomBytes(32);
  await initializeSeal(opts.backend, root, 'test');
  const barrier = await Barrier.unseal(opts.backend, root);
  const store = new JobStore(barrier, new SystemClock());
  for (let i = 0; i < JOBS; i++) await store.enqueue({ kind: CRASH_KIND, target: `t${i}`, data: null, step: STEPS[0], maxAttempts: 1000 });
  const startLog = join(opts.dir, 'starts.log');
  writeFileSync(startLog, '');
  let seq = 0;
  const live: Child[] = [];
  const launch = () => {
    const nodeId = `node-${++seq}`;
    live.push(spawnChild([...opts.childArgs, nodeId, startLog], nodeId, root));
  };
  // The jobs whose lease `nodeId` holds now (running, lease owner nodeId), and the owner of each.
  const running = async (): Promise<Map<string, string | null>> => {
    const out = new Map<string, string | null>();
    try {
      for (const key of await barrier.list(`${PREFIX.state}${JobState.running}/`)) {
        const id = key.slice(key.lastIndexOf('/') + 1);
        const job = (await barrier.getJSON<Job>(jobPath(id)))?.value;
        if (job) out.set(id, job.state === JobState.running ? (job.lease?.owner ?? null) : null);
      }
    } catch (e) {
      if (!/locking protocol|database is locked/.test(String(e))) throw e;
    }
    return out;
  };
  // A stalled worker is woken by events, not by the clock: once another node has taken over every
  // lease it held when it was stopped (or those jobs have moved on), or, if it held none, once other
  // nodes have finished one more job. Bounded (a stopped SQLite writer can hold the file's lock, so
  // nobody else can take over): after 4 lease lifetimes it is woken anyway and counted as such.
  let wokenByBound = 0;
  let takeoversSeen = 0;
  const stall = async (victim: Child): Promise<void> => {
    const held = [...(await running())].filter(([, owner]) => owner === victim.nodeId).map(([id]) => id);
    const doneBefore = await succeeded();
    const bound = Date.now() + 4 * CRASH_WORKER.leaseMs;
    for (;;) {
      if (held.length > 0) {
        const now = await running();
        if (held.every((id) => now.get(id) !== victim.nodeId)) { takeoversSeen++; return; }
      } else if ((await succeeded()) > doneBefore) return;
      if (Date.now() > bound) { wokenByBound++; return; }
      await sleep(CRASH_WORKER.pollMs);
    }
  };
  const succeeded = async () => {
    try {
      return (await barrier.list(`${PREFIX.state}${JobState.succeeded}/`)).length;
    } catch (e) {
      // SQLite may answer SQLITE_PROTOCOL while a SIGSTOPped process holds a WAL lock: ask again.
      if (/locking protocol|database is locked/.test(String(e))) return 0;
      throw e;
    }
  };
  let kills = 0;
  let stalled = 0;
  try {
    // Fault phase: keep `nodes` workers alive; every 100-400 ms pick a random working one and
    // either SIGKILL it (and start a replacement) or SIGSTOP it for longer than its lease and then
    // SIGCONT it: a live worker that wakes up holding a lease that another node has taken over, the
    // case where only compare-and-swap keeps a step from being recorded twice.
    const stalls: Promise<void>[] = [];
    while ((kills < opts.kills || stalled < opts.stalls) && (await succeeded()) < JOBS) {
      while (live.length < opts.nodes) launch();
      await sleep(rand(100, 400));
      const ready = live.filter((c) => c.isReady && !c.stalled);
      if (ready.length === 0) continue;
      const victim = ready[rand(0, ready.length)]!;
      // Stall only while another worker is running, so there is someone to take over.
      if (ready.length >= 2 && stalled < opts.stalls && (kills >= opts.kills || Math.random() < 0.5)) {
        victim.stalled = true;
        victim.proc.kill('SIGSTOP');
        stalled++;
        stalls.push(stall(victim).then(() => {
          victim.proc.kill('SIGCONT');
          victim.stalled = false;
        }));
        continue;
      }
      // kills done, stalls left: wait for two ready workers (killing more would only keep a slow
      // machine from ever having two, as CI saw: 169 kills for 14 on a loaded machine)
      if (kills >= opts.kills) continue;
      live.splice(live.indexOf(victim), 1);
      victim.proc.kill('SIGKILL');
      await victim.exited;
      kills++;
    }
    await Promise.all(stalls);
    // Recovery phase: workers run undisturbed until everything is done.
    while (live.length < opts.nodes) launch();
    const deadline = Date.now() + 60_000;
    while ((await succeeded()) < JOBS) {
      assert.ok(Date.now() < deadline, `only ${await succeeded()} of ${JOBS} jobs finished`);
      await sleep(50);
    }
  } finally {
    for (const c of live) {
      c.proc.kill('SIGCONT'); // a stopped process cannot act on SIGTERM
      c.proc.kill('SIGTERM');
    }
    await Promise.all(live.map((c) => c.exited));
  }
  const jobs = await assertIndexesConsistent(barrier);
  assert.equal(jobs.length, JOBS);
  for (const j of jobs) {
    assert.equal(j.state, JobState.succeeded, j.id);
    // Exactly once: each step's effect is in the log once, in order.
    assert.deepEqual((await barrier.getJSON<string[]>(`test/log/${j.id}`))?.value, [...STEPS], j.id);
  }
  const starts = readFileSync(startLog, 'utf8').trim().split('\n').length;
  return { kills, stalled, takeoversSeen, wokenByBound, starts, reruns: starts - JOBS * STEPS.length, takeovers: jobs.filter((j) => j.lastError?.name === 'LeaseExpired').length };
}

test('SIGKILLed and stalled workers on SQLite: every job completes and every step takes effect exactly once', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-crash-'));
  const file = join(dir, 'rekey.db');
  const backend = new SqliteBackend(file);
  try {
    const r = await crashRun({ backend, childArgs: ['sqlite', file], nodes: 3, kills: 10, stalls: 4, dir });
    process.stdout.write(`# sqlite: ${r.kills} kills, ${r.stalled} stalls (${r.takeoversSeen} woken after another node took over their leases, ${r.wokenByBound} by the bound), ${r.starts} step starts for ${JOBS * STEPS.length} steps (${r.reruns} re-run after a kill), ${r.takeovers} jobs last taken over after lease expiry\n`);
    assert.ok(r.kills >= 5 && r.stalled >= 1, 'too few faults before the jobs finished');
    assert.ok(r.reruns > 0, 'no kill landed inside a step');
  } finally {
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
});


test('SIGKILLed and stalled nodes sharing PostgreSQL: every job completes and every step takes effect exactly once', { timeout: 300_000}, async () => {
  const pg = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'rekey-crash-pg-'));
  const backend = await PostgresBackend.open(pg.url);
  try {
    const r = await crashRun({ backend, childArgs: ['postgres', pg.url], nodes: 3, kills: 10, stalls: 4, dir });
    process.stdout.write(`# postgres: ${r.kills} kills, ${r.stalled} stalls (${r.takeoversSeen} woken after another node took over their leases, ${r.wokenByBound} by the bound), ${r.starts} step starts for ${JOBS * STEPS.length} steps (${r.reruns} re-run after a kill), ${r.takeovers} jobs last taken over after lease expiry\n`);
    assert.ok(r.kills >= 5 && r.stalled >= 1, 'too few faults before the jobs finished');
    assert.ok(r.reruns > 0, 'no kill landed inside a step');
  } finally {
    await backend.close();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
