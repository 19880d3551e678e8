// bench/kms/profile-server.ts: a V8 CPU profile of one rekey server (bench/kms/server-child.ts)
// under Encrypt (1 KiB) load, to see where its time goes. Usage:
//   node --import tsx bench/kms/profile-server.ts [out-dir]
// PROFILE_MODE=full (default) | lean (auth and audit off) | noauth | noaudit; PROFILE_CONCURRENCY
// (64), PROFILE_SECONDS (10), PROFILE_CPU=off (measure only, no profiler). Writes the .cpuprofile files of the server process into out-dir
// (default a temp dir) and prints the server's CPU µs per request (from /proc) and req/s.
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { KMSClient, CreateKeyCommand } from '@aws-sdk/client-kms';
import { signRequest } from '../../src/iam/sigv4-sign.ts';

const mode = process.env.PROFILE_MODE ?? 'full';
const connections = Number(process.env.PROFILE_CONCURRENCY ?? 64);
const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const outDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'rekey-prof-'));
const creds = { accessKeyId: 'AKIAREKEYBENCH000001', secretAccessKey: 'bench-secret-bench-secret-bench-secret-01' };
const region = 'us-east-1';
const dataDir = mkdtempSync(join(tmpdir(), 'rekey-prof-data-'));
const env: Record<string, string> = {
  REKEY_DATA_DIR: dataDir, REKEY_PORT: '0', REKEY_LOG_LEVEL: 'error', REKEY_QUOTAS: 'off',
  REKEY_DEV_ACCESS_KEY_ID: creds.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: creds.secretAccessKey,
  ...(mode === 'lean' || mode === 'noauth' ? { REKEY_AUTH: 'off', REKEY_BENCH_UNSAFE_NO_AUTH: '1' } : {}),
  ...(mode === 'lean' || mode === 'noaudit' ? { REKEY_AUDIT: 'off', REKEY_BENCH_UNSAFE_NO_AUDIT: '1' } : {}),
};
const child = fork('bench/kms/server-child.ts', [], {
  env: { ...process.env, ...env }, execArgv: [...(process.env.PROFILE_CPU === 'off' ? [] : ['--cpu-prof', `--cpu-prof-dir=${outDir}`]), '--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
const port = await new Promise<number>((resolve, reject) => {
  child.once('message', (m: { port: number }) => resolve(m.port));
  child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
});
const cpuMs = (): number => {
  const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
try {
  const kms = new KMSClient({ endpoint: `http://127.0.0.1:${port}`, region, credentials: creds });
  const keyId = (await kms.send(new CreateKeyCommand({ Description: 'profile' }))).KeyMetadata!.KeyId!;
  const body = JSON.stringify({ KeyId: keyId, Plaintext: Buffer.alloc(1024, 7).toString('base64') });
  const headers = signRequest(
    { method: 'POST', host: `127.0.0.1:${port}`, path: '/', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' }, body },
    creds, { region, service: 'kms' },
  );
  await autocannon({ url: `http://127.0.0.1:${port}/`, method: 'POST', headers, body, connections, duration: 2 }); // warm-up
  const c0 = cpuMs();
  const r = await autocannon({ url: `http://127.0.0.1:${port}/`, method: 'POST', headers, body, connections, duration: seconds });
  const c1 = cpuMs();
  process.stdout.write(`${mode} c=${connections}: ${r.requests.average.toFixed(0)} req/s, ${(((c1 - c0) * 1000) / r.requests.total).toFixed(0)} CPU µs/req, ${r.non2xx + r.errors} errors; profile in ${outDir}\n`);
} finally {
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  rmSync(dataDir, { recursive: true, force: true });
}
