// bench/kms/runtime-ab: what the runtime costs per request (issue 16): the same server code run
// through tsx (the TypeScript sources, transformed on load with keepNames) and compiled ahead of time
// by esbuild (scripts/build.mjs, what bin/rekey.mjs runs). Four servers: lean (auth and audit off,
// the benchmark-only switches) and fully featured, each under both runtimes; Encrypt 1 KiB with the
// same request bytes, rounds alternating the runtimes (tsx first in odd rounds, compiled first in
// even ones) so drift on a shared machine hits both. Server CPU µs per request from /proc.
// Usage: node --import tsx bench/kms/runtime-ab.ts   (BENCH_SECONDS=5, BENCH_CONCURRENCY=64, BENCH_ROUNDS=3)
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { BENCH_CREDS, cpuMs, encryptTarget } from './encrypt-target.ts';
import { ensureBuilt, ROOT } from '../../scripts/build.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONCURRENCY ?? 64);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const creds = BENCH_CREDS;
const SERVER = 'bench/kms/server-child.ts';
const LEAN = { REKEY_AUTH: 'off', REKEY_BENCH_UNSAFE_NO_AUTH: '1', REKEY_AUDIT: 'off', REKEY_BENCH_UNSAFE_NO_AUDIT: '1' };

interface Server { label: string; child: ChildProcess; port: number; dir: string; body: string; headers: Record<string, string> }

async function start(label: string, runtime: 'tsx' | 'compiled', extra: Record<string, string>): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), `rekey-bench-${label.replace(/\W+/g, '-')}-`));
  const env = { ...process.env, REKEY_DATA_DIR: dir, REKEY_PORT: '0', REKEY_LOG_LEVEL: 'error', REKEY_QUOTAS: 'off', REKEY_DEV_ACCESS_KEY_ID: creds.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: creds.secretAccessKey, ...extra };
  const [script, execArgv] = runtime === 'tsx' ? [SERVER, ['--import', 'tsx']] : [await ensureBuilt(ROOT, SERVER), ['--enable-source-maps']];
  const child = fork(script, [], { env, execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const { port, body, headers } = await encryptTarget(child, label);
  return { label, child, port, dir, body, headers };
}

async function load(s: Server): Promise<{ rps: number; errors: number; cpuUs: number }> {
  const cpu0 = cpuMs(s.child.pid!);
  const r = await autocannon({ url: `http://127.0.0.1:${s.port}/`, method: 'POST', headers: s.headers, body: s.body, connections: CONNECTIONS, duration: SECONDS });
  const cpu1 = cpuMs(s.child.pid!);
  return { rps: r.requests.average, errors: r.non2xx + r.errors, cpuUs: ((cpu1 - cpu0) * 1000) / Math.max(1, r.requests.total) };
}

const servers: Server[] = [];
try {
  for (const [label, runtime, env] of [['lean tsx', 'tsx', LEAN], ['lean compiled', 'compiled', LEAN], ['full tsx', 'tsx', {}], ['full compiled', 'compiled', {}]] as const) {
    servers.push(await start(label, runtime, env));
  }
  for (const s of servers) await load(s); // warm-up (JIT, key cache)
  const cpu = new Map<string, number[]>(servers.map((s) => [s.label, []]));
  const rows = ['| round | server | runtime | req/s | CPU µs/req |', '|---|---|---|---|---|'];
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? servers : [servers[1]!, servers[0]!, servers[3]!, servers[2]!];
    for (const s of order) {
      const r = await load(s);
      if (r.errors > 0) process.stderr.write(`WARNING: ${s.label}: ${r.errors} errors\n`);
      cpu.get(s.label)!.push(r.cpuUs);
      const [server, runtime] = s.label.split(' ');
      rows.push(`| ${round} | ${server} | ${runtime} | ${r.rps.toFixed(0)} | ${r.cpuUs.toFixed(0)} |`);
      process.stderr.write(`${rows[rows.length - 1]}\n`);
    }
  }
  const mean = (label: string) => cpu.get(label)!.reduce((a, b) => a + b, 0) / ROUNDS;
  const summary = ['| server | tsx CPU µs/req (mean) | compiled CPU µs/req (mean) | compiled / tsx |', '|---|---|---|---|'];
  for (const server of ['lean', 'full']) {
    const t = mean(`${server} tsx`), c = mean(`${server} compiled`);
    summary.push(`| ${server} | ${t.toFixed(0)} | ${c.toFixed(0)} | ${(c / t).toFixed(3)} |`);
  }
  process.stdout.write(`Encrypt 1 KiB, ${CONNECTIONS} connections, ${SECONDS} s per cell, ${ROUNDS} rounds\n${rows.join('\n')}\n\n${summary.join('\n')}\n`);
} finally {
  for (const s of servers) {
    s.child.kill('SIGTERM');
    rmSync(s.dir, { recursive: true, force: true });
  }
}
