// bench/kms/profile-server.ts: a V8 CPU profile of one rekey server (bench/kms/server-child.ts)
// under Encrypt (1 KiB) load, to see where its time goes; the server runs compiled, as `rekey server`
// does (REKEY_RUNTIME=tsx: through tsx). Usage:
//   node --import tsx bench/kms/profile-server.ts [out-dir]
// PROFILE_MODE=full (default) | lean (auth and audit off) | noauth | noaudit; PROFILE_CONCURRENCY
// (64), PROFILE_SECONDS (10), PROFILE_CPU=off (measure only, no profiler). Writes the .cpuprofile files of the server process into out-dir
// (default a temp dir) and prints the server's CPU µs per request (from /proc) and req/s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { forkServer } from '../fork-server.ts';
import { BENCH_CREDS, cpuMs, encryptTarget } from './encrypt-target.ts';

const mode = process.env.PROFILE_MODE ?? 'full';
const connections = Number(process.env.PROFILE_CONCURRENCY ?? 64);
const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const outDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'rekey-prof-'));
const creds = BENCH_CREDS;
const dataDir = mkdtempSync(join(tmpdir(), 'rekey-prof-data-'));
const env: Record<string, string> = {
  REKEY_DATA_DIR: dataDir, REKEY_PORT: '0', REKEY_LOG_LEVEL: 'error', REKEY_QUOTAS: 'off',
  REKEY_DEV_ACCESS_KEY_ID: creds.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: creds.secretAccessKey,
  ...(mode === 'lean' || mode === 'noauth' ? { REKEY_AUTH: 'off', REKEY_BENCH_UNSAFE_NO_AUTH: '1' } : {}),
  ...(mode === 'lean' || mode === 'noaudit' ? { REKEY_AUDIT: 'off', REKEY_BENCH_UNSAFE_NO_AUDIT: '1' } : {}),
};
// the server runs as `rekey server` does (compiled; REKEY_RUNTIME=tsx: through tsx), under the profiler
const child = await forkServer('bench/kms/server-child.ts', [], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  process.env.PROFILE_CPU === 'off' ? [] : ['--cpu-prof', `--cpu-prof-dir=${outDir}`]);
try {
  const { port, body, headers } = await encryptTarget(child, 'server');
  await autocannon({ url: `http://127.0.0.1:${port}/`, method: 'POST', headers, body, connections, duration: 2 }); // warm-up
  const c0 = cpuMs(child.pid!);
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, method: 'POST', headers, body, connections, duration: seconds });
  const c1 = cpuMs(child.pid!);
  process.stdout.write(`${mode} c=${connections}: ${r.requests.average.toFixed(0)} req/s, ${(((c1 - c0) * 1000) / r.requests.total).toFixed(0)} CPU µs/req, ${r.non2xx + r.errors} errors; profile in ${outDir}\n`);
} finally {
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  rmSync(dataDir, { recursive: true, force: true });
}
