// bench/kms/rss: does the fully featured server's memory stay flat over many Encrypts? One rekey
// server (SigV4, policies, audit to store and file) in its own process; BENCH_REQUESTS (default
// 1,000,000) signed Encrypt 1 KiB calls at BENCH_CONCURRENCY (default 64) connections, RSS read from
// /proc/<pid>/status (VmRSS) at the start and after every tenth of the run.
// Usage: npm run bench:kms-rss
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { KMSClient, CreateKeyCommand } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { forkServer } from '../fork-server.ts';

const TOTAL = Number(process.env.BENCH_REQUESTS ?? 1_000_000);
const CONNECTIONS = Number(process.env.BENCH_CONCURRENCY ?? 64);
const creds = { accessKeyId: 'AKIAREKEYBENCH000001', secretAccessKey: 'bench-secret-bench-secret-bench-secret-01' };
const region = 'us-east-1';
const dir = mkdtempSync(join(tmpdir(), 'rekey-bench-rss-'));
const child = await forkServer('bench/kms/server-child.ts', [], {
  env: { ...process.env, REKEY_DATA_DIR: dir, REKEY_PORT: '0', REKEY_LOG_LEVEL: 'error', REKEY_QUOTAS: 'off', REKEY_DEV_ACCESS_KEY_ID: creds.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: creds.secretAccessKey },
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
const rssMiB = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
try {
  const port: number = await new Promise((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  const kms = new KMSClient({ endpoint: `http://127.0.0.1:${port}`, region, credentials: creds });
  const keyId = (await kms.send(new CreateKeyCommand({ Description: 'bench-rss' }))).KeyMetadata!.KeyId!;
  const body = JSON.stringify({ KeyId: keyId, Plaintext: Buffer.alloc(1024, 7).toString('base64') });
  const rows = ['| Encrypts done | RSS MiB | req/s in this tenth | errors |', '|---|---|---|---|', `| 0 | ${rssMiB().toFixed(0)} | | |`];
  process.stderr.write(`${rows[2]}\n`);
  const step = Math.ceil(TOTAL / 10);
  for (let done = 0; done < TOTAL; done += step) {
    // re-signed per tenth: a SigV4 signature is valid for 5 minutes
    const signed = await new SignatureV4({ credentials: creds, region, service: 'kms', sha256: Sha256 }).sign(new HttpRequest({
      method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: '/', body,
      headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' },
    }));
    const r = await autocannon({ url: `http://127.0.0.1:${port}/`, method: 'POST', headers: signed.headers as Record<string, string>, body, connections: CONNECTIONS, amount: Math.min(step, TOTAL - done) });
    rows.push(`| ${done + Math.min(step, TOTAL - done)} | ${rssMiB().toFixed(0)} | ${r.requests.average.toFixed(0)} | ${r.non2xx + r.errors} |`);
    process.stderr.write(`${rows[rows.length - 1]}\n`);
  }
  process.stdout.write(`\n${rows.join('\n')}\n`);
} finally {
  child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
