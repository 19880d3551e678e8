// bench/kms/alarms-ab: what alarms cost on the Encrypt path (docs/ALARMS.md). With alarms on (the
// default) the metrics registry observes every call and the AlarmService reads every audit batch;
// REKEY_ALARMS=off has neither (unless metrics.listen is set). Two servers, same request bytes,
// measured alternately (off, on, off, on) so drift on a shared machine hits both.
// Usage: node --import tsx bench/kms/alarms-ab.ts   (BENCH_SECONDS=5, BENCH_CONCURRENCY=16)
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { BENCH_CREDS, cpuMs, encryptTarget } from './encrypt-target.ts';
import { forkServer } from '../fork-server.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONCURRENCY ?? 16);
const creds = BENCH_CREDS;

async function start(label: string, extra: Record<string, string>): Promise<{ child: ChildProcess; port: number; dir: string; body: string; headers: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), `rekey-bench-${label}-`));
  const env = { ...process.env, REKEY_DATA_DIR: dir, REKEY_PORT: '0', REKEY_LOG_LEVEL: 'error', REKEY_QUOTAS: 'off', REKEY_DEV_ACCESS_KEY_ID: creds.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: creds.secretAccessKey, ...extra };
  const child = await forkServer('bench/kms/server-child.ts', [], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const { port, body, headers } = await encryptTarget(child, 'server');
  return { child, port, dir, body, headers };
}

async function load(s: { child: ChildProcess; port: number; body: string; headers: Record<string, string> }): Promise<{ rps: number; p99: number; errors: number; cpuUs: number }> {
  const cpu0 = cpuMs(s.child.pid!);
  const r = await autocannon({ url: `http://127.0.0.1:${s.port}/`, method: 'POST', headers: s.headers, body: s.body, connections: CONNECTIONS, duration: SECONDS });
  const cpu1 = cpuMs(s.child.pid!);
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.non2xx + r.errors, cpuUs: ((cpu1 - cpu0) * 1000) / Math.max(1, r.requests.total) };
}

const off = await start('alarms-off', { REKEY_ALARMS: 'off' });
const on = await start('alarms-on', {});
try {
  await load(off); await load(on); // warm-up
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
  const rows: string[] = ['| round | alarms off req/s | alarms on req/s | on / off | off CPU µs/req | on CPU µs/req |', '|---|---|---|---|---|---|'];
  let sumOff = 0, sumOn = 0, cpuOff = 0, cpuOn = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const a = await load(off);
    const b = await load(on);
    if (a.errors + b.errors > 0) process.stderr.write(`WARNING: errors ${a.errors}/${b.errors}\n`);
    sumOff += a.rps; sumOn += b.rps; cpuOff += a.cpuUs; cpuOn += b.cpuUs;
    rows.push(`| ${round} | ${a.rps.toFixed(0)} (p99 ${a.p99} ms) | ${b.rps.toFixed(0)} (p99 ${b.p99} ms) | ${(b.rps / a.rps).toFixed(3)} | ${a.cpuUs.toFixed(0)} | ${b.cpuUs.toFixed(0)} |`);
  }
  rows.push(`| mean | ${(sumOff / ROUNDS).toFixed(0)} | ${(sumOn / ROUNDS).toFixed(0)} | ${(sumOn / sumOff).toFixed(3)} | ${(cpuOff / ROUNDS).toFixed(0)} | ${(cpuOn / ROUNDS).toFixed(0)} |`);
  process.stdout.write(`Encrypt 1 KiB, ${CONNECTIONS} connections, ${SECONDS} s per cell\n${rows.join('\n')}\n`);
} finally {
  off.child.kill('SIGTERM'); on.child.kill('SIGTERM');
  rmSync(off.dir, { recursive: true, force: true }); rmSync(on.dir, { recursive: true, force: true });
}
