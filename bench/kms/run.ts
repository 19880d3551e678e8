// bench/kms: KMS throughput and latency against a bare Node http server and the crypto floor (a raw
// node:http server doing JSON + HKDF + AES-256-GCM seal, bench/kms/floor-server.ts), in one run.
// Each server runs in its own process; autocannon drives both from this process with the same
// pre-signed request bytes (SigV4 signatures stay valid for the 5-minute window).
// Usage: npm run bench:kms   (BENCH_SECONDS=5 per cell by default). The servers run compiled, as
// `rekey server` does (bench/fork-server.ts); REKEY_RUNTIME=tsx runs them through tsx.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { KMSClient, CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent as HttpsAgent } from 'node:https';
import { forkServer } from '../fork-server.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map(Number);
/** Which tables to measure (BENCH_LINES=tls for the HTTPS line alone). */
const LINES = new Set((process.env.BENCH_LINES ?? 'floor,sinks,bare,auth,tls,audit').split(','));
const creds = { accessKeyId: 'AKIAREKEYBENCH000001', secretAccessKey: 'bench-secret-bench-secret-bench-secret-01' };
const region = 'us-east-1';

async function startChild(script: string, args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; port: number; metrics?: string }> {
  const child = await forkServer(script, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: any) => resolve({ child, port: m.port, ...(m.metrics ? { metrics: m.metrics } : {}) }));
    child.once('exit', (c) => reject(new Error(`${script} exited ${c}`)));
  });
}

async function sign(port: number, target: string, body: string): Promise<Record<string, string>> {
  const signer = new SignatureV4({ credentials: creds, region, service: 'kms', sha256: Sha256 });
  const req = new HttpRequest({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port, path: '/', body,
    headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target } });
  const signed = await signer.sign(req);
  return signed.headers as Record<string, string>;
}

interface Cell { rps: number; p50: number; p99: number; errors: number; cpuUsPerReq?: number }

/** user + system CPU of a process in ms, from /proc (Linux; clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15 of stat)
  } catch {
    return undefined;
  }
}

async function load(port: number, headers: Record<string, string>, body: string, connections: number, scheme: 'http' | 'https' = 'http', pid?: number): Promise<Cell> {
  // autocannon keeps its connections alive (as the SDKs do), so HTTPS costs one handshake per connection plus record encryption
  const cpu0 = cpuMs(pid);
  const r = await autocannon({ url: `${scheme}://127.0.0.1:${port}/`, method: 'POST', headers, body, connections, duration: SECONDS, pipelining: 1 });
  const cpu1 = cpuMs(pid);
  const cpuUsPerReq = cpu0 !== undefined && cpu1 !== undefined && r.requests.total > 0 ? ((cpu1 - cpu0) * 1000) / r.requests.total : undefined;
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors, ...(cpuUsPerReq !== undefined ? { cpuUsPerReq } : {}) };
}

/** rekey_audit_events_total and rekey_audit_batches_total from a server's /metrics. */
async function auditCounts(url: string): Promise<{ events: number; batches: number }> {
  const text = await (await fetch(url)).text();
  const num = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { events: num('rekey_audit_events_total'), batches: num('rekey_audit_batches_total') };
}

const dataDir = mkdtempSync(join(tmpdir(), 'rekey-bench-'));
const noAuthDir = mkdtempSync(join(tmpdir(), 'rekey-bench-noauth-'));
const noAuditDir = mkdtempSync(join(tmpdir(), 'rekey-bench-noaudit-'));
const tlsDir = mkdtempSync(join(tmpdir(), 'rekey-bench-tls-'));
const plainDir = mkdtempSync(join(tmpdir(), 'rekey-bench-plain-'));
const rekeyEnv = (dir: string) => ({
  REKEY_DATA_DIR: dir, REKEY_PORT: '0', REKEY_LOG_LEVEL: 'error',
  // request quotas (docs/TLS.md) would throttle one principal at 2,750 Encrypt/s and turn cells into error counts
  REKEY_QUOTAS: 'off',
  REKEY_DEV_ACCESS_KEY_ID: creds.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: creds.secretAccessKey,
});
const bare = await startChild('bench/bare-server.mjs', [], {});
const rekey = await startChild('bench/kms/server-child.ts', [], rekeyEnv(dataDir));
// The same server with SigV4 verification and policy evaluation off (benchmark-only switch).
const noAuth = await startChild('bench/kms/server-child.ts', [], { ...rekeyEnv(noAuthDir), REKEY_AUTH: 'off', REKEY_BENCH_UNSAFE_NO_AUTH: '1' });
// The same server without auditing (benchmark-only switch), for the audited/unaudited line.
const noAudit = await startChild('bench/kms/server-child.ts', [], { ...rekeyEnv(noAuditDir), REKEY_AUDIT: 'off', REKEY_BENCH_UNSAFE_NO_AUDIT: '1' });
// HTTPS (rekey's generated CA) against the same server on plain HTTP, both fresh, for the TLS line.
const tlsServer = await startChild('bench/kms/server-child.ts', [], { ...rekeyEnv(tlsDir), REKEY_TLS: 'generated' });
const plain = await startChild('bench/kms/server-child.ts', [], rekeyEnv(plainDir));
try {
  const kms = new KMSClient({ endpoint: `http://127.0.0.1:${rekey.port}`, region, credentials: creds });
  const keyId = (await kms.send(new CreateKeyCommand({ Description: 'bench' }))).KeyMetadata!.KeyId!;
  const kmsNoAuth = new KMSClient({ endpoint: `http://127.0.0.1:${noAuth.port}`, region, credentials: creds });
  const noAuthKeyId = (await kmsNoAuth.send(new CreateKeyCommand({ Description: 'bench' }))).KeyMetadata!.KeyId!;
  const kmsNoAudit = new KMSClient({ endpoint: `http://127.0.0.1:${noAudit.port}`, region, credentials: creds });
  const noAuditKeyId = (await kmsNoAudit.send(new CreateKeyCommand({ Description: 'bench' }))).KeyMetadata!.KeyId!;
  const plaintext = Buffer.alloc(1024, 7);
  const ct = (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }))).CiphertextBlob!;
  const ops: [string, string, string][] = [
    ['Encrypt (1 KiB)', 'TrentService.Encrypt', JSON.stringify({ KeyId: keyId, Plaintext: plaintext.toString('base64') })],
    ['Decrypt (1 KiB)', 'TrentService.Decrypt', JSON.stringify({ CiphertextBlob: Buffer.from(ct).toString('base64') })],
    ['GenerateDataKey', 'TrentService.GenerateDataKey', JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' })],
  ];
  const encBody = JSON.stringify({ KeyId: keyId, Plaintext: plaintext.toString('base64') });
  const best = (a: Cell, b: Cell): Cell => (b.rps > a.rps ? b : a);
  const encrypt = async (port: number, body: string, c: number, scheme: 'http' | 'https' = 'http', pid?: number) => load(port, await sign(port, 'TrentService.Encrypt', body), body, c, scheme, pid);
  const cpu = (cell: Cell) => cell.cpuUsPerReq?.toFixed(0) ?? 'n/a';
  /**
   * Encrypt on the full server against the same server with one feature off, in this run.
   * Rounds alternate (off, on, off, on) and each side keeps its best, so drift on a shared machine
   * favours neither side.
   */
  async function featureLine(label: string, onHead: string, offHead: string, offPort: number, offKeyId: string, offPid: number | undefined, on_: { port: number; body: string; scheme: 'http' | 'https'; pid: number | undefined } = { port: rekey.port, body: encBody, scheme: 'http', pid: rekey.child.pid }): Promise<string[]> {
    const table = [`| Encrypt (1 KiB) | conc | ${onHead} req/s | p50 ms | p99 ms | CPU µs/req | ${offHead} req/s | p50 ms | p99 ms | CPU µs/req | ratio | CPU ratio (off / on) |`, '|---|---|---|---|---|---|---|---|---|---|---|---|'];
    const offBody = JSON.stringify({ KeyId: offKeyId, Plaintext: plaintext.toString('base64') });
    for (const c of CONCURRENCY) {
      let off = await encrypt(offPort, offBody, c, 'http', offPid);
      let on = await encrypt(on_.port, on_.body, c, on_.scheme, on_.pid);
      off = best(off, await encrypt(offPort, offBody, c, 'http', offPid));
      on = best(on, await encrypt(on_.port, on_.body, c, on_.scheme, on_.pid));
      if (on.errors + off.errors > 0) process.stderr.write(`WARNING: ${label} c=${c}: ${on.errors} / ${off.errors} errors\n`);
      const cpuRatio = on.cpuUsPerReq && off.cpuUsPerReq ? (off.cpuUsPerReq / on.cpuUsPerReq).toFixed(2) : 'n/a';
      table.push(`| ${label} | ${c} | ${on.rps.toFixed(0)} | ${on.p50} | ${on.p99} | ${cpu(on)} | ${off.rps.toFixed(0)} | ${off.p50} | ${off.p99} | ${cpu(off)} | ${(on.rps / off.rps).toFixed(2)} | ${cpuRatio} |`);
      process.stderr.write(table[table.length - 1] + '\n');
    }
    return table;
  }
  const extra: { child: ChildProcess; dir: string }[] = [];
  const startRekey = async (tag: string, env: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), `rekey-bench-${tag}-`));
    const srv = await startChild('bench/kms/server-child.ts', [], { ...rekeyEnv(dir), ...env });
    extra.push({ child: srv.child, dir });
    const k = (await new KMSClient({ endpoint: `http://127.0.0.1:${srv.port}`, region, credentials: creds }).send(new CreateKeyCommand({ Description: 'bench' }))).KeyMetadata!.KeyId!;
    return { ...srv, body: JSON.stringify({ KeyId: k, Plaintext: plaintext.toString('base64') }) };
  };
  // The crypto floor (goal: fully featured >= 0.7 of it; auth and audit off >= 0.9). Rounds
  // interleave (floor, full, lean, twice) and each keeps its best; CPU µs per request from /proc.
  const floorRows: string[] = [];
  if (LINES.has('floor')) {
    const floor = await startChild('bench/kms/floor-server.ts', [], {});
    const lean = await startRekey('lean', { REKEY_AUTH: 'off', REKEY_BENCH_UNSAFE_NO_AUTH: '1', REKEY_AUDIT: 'off', REKEY_BENCH_UNSAFE_NO_AUDIT: '1' });
    try {
      floorRows.push('| Encrypt (1 KiB) | conc | full req/s | full CPU µs/req | lean req/s | lean CPU µs/req | floor req/s | floor CPU µs/req | full / floor | lean / floor |', '|---|---|---|---|---|---|---|---|---|---|');
      for (const c of CONCURRENCY) {
        const floorHeaders = { 'content-type': 'application/x-amz-json-1.1' };
        let f = await load(floor.port, floorHeaders, encBody, c, 'http', floor.child.pid);
        let full = await load(rekey.port, await sign(rekey.port, 'TrentService.Encrypt', encBody), encBody, c, 'http', rekey.child.pid);
        let l = await load(lean.port, await sign(lean.port, 'TrentService.Encrypt', lean.body), lean.body, c, 'http', lean.child.pid);
        f = best(f, await load(floor.port, floorHeaders, encBody, c, 'http', floor.child.pid));
        full = best(full, await load(rekey.port, await sign(rekey.port, 'TrentService.Encrypt', encBody), encBody, c, 'http', rekey.child.pid));
        l = best(l, await load(lean.port, await sign(lean.port, 'TrentService.Encrypt', lean.body), lean.body, c, 'http', lean.child.pid));
        if (f.errors + full.errors + l.errors > 0) process.stderr.write(`WARNING: floor line c=${c}: errors ${full.errors}/${l.errors}/${f.errors}\n`);
        const us = (x: Cell) => x.cpuUsPerReq?.toFixed(0) ?? 'n/a';
        floorRows.push(`| fully featured / auth+audit off / floor | ${c} | ${full.rps.toFixed(0)} | ${us(full)} | ${l.rps.toFixed(0)} | ${us(l)} | ${f.rps.toFixed(0)} | ${us(f)} | ${(full.rps / f.rps).toFixed(2)} | ${(l.rps / f.rps).toFixed(2)} |`);
        process.stderr.write(floorRows[floorRows.length - 1] + '\n');
      }
    } finally {
      floor.child.kill('SIGTERM');
    }
  }
  // Audit with one durable sink only: batches must form (events per batch from /metrics), no per-request fsync.
  const sinkRows: string[] = [];
  if (LINES.has('sinks')) {
    sinkRows.push('| audit sinks | conc | req/s | p50 ms | p99 ms | CPU µs/req | events per batch |', '|---|---|---|---|---|---|---|');
    const metricsEnv = { REKEY_METRICS_LISTEN: '127.0.0.1:0' };
    const variants: [string, Record<string, string>][] = [['store + file', {}], ['store only', { REKEY_AUDIT_FILE: 'none' }], ['file only', { REKEY_AUDIT_STORE: 'false' }]];
    for (const [label, env] of variants) {
      const srv = await startRekey(label.replace(/\W+/g, ''), { ...metricsEnv, ...env });
      for (const c of CONCURRENCY) {
        const before = await auditCounts(srv.metrics!);
        const cell = await load(srv.port, await sign(srv.port, 'TrentService.Encrypt', srv.body), srv.body, c, 'http', srv.child.pid);
        const after = await auditCounts(srv.metrics!);
        const perBatch = (after.events - before.events) / Math.max(1, after.batches - before.batches);
        sinkRows.push(`| ${label} | ${c} | ${cell.rps.toFixed(0)} | ${cell.p50} | ${cell.p99} | ${cell.cpuUsPerReq?.toFixed(0) ?? 'n/a'} | ${perBatch.toFixed(1)} |`);
        process.stderr.write(sinkRows[sinkRows.length - 1] + '\n');
      }
      srv.child.kill('SIGTERM');
    }
  }
  // Full SigV4 verification + key and IAM policy evaluation vs authentication off (goal >= 0.9);
  // measured first, while the servers' stores (and audit trails) are equally small.
  const auth = LINES.has('auth') ? await featureLine('SigV4 + policies vs auth off', 'auth on', 'auth off', noAuth.port, noAuthKeyId, noAuth.child.pid) : [];
  // Encrypt over HTTPS (rekey's generated CA, TLS 1.3, keep-alive) vs plain HTTP, two fresh servers (goal >= 0.8).
  const tlsKms = new KMSClient({ endpoint: `https://127.0.0.1:${tlsServer.port}`, region, credentials: creds, requestHandler: new NodeHttpHandler({ httpsAgent: new HttpsAgent({ rejectUnauthorized: false }) }) });
  const tlsKeyId = (await tlsKms.send(new CreateKeyCommand({ Description: 'bench' }))).KeyMetadata!.KeyId!;
  const plainKeyId = (await new KMSClient({ endpoint: `http://127.0.0.1:${plain.port}`, region, credentials: creds }).send(new CreateKeyCommand({ Description: 'bench' }))).KeyMetadata!.KeyId!;
  const tlsRows = LINES.has('tls') ? await featureLine('HTTPS vs plain HTTP', 'https', 'http', plain.port, plainKeyId, plain.child.pid,
    { port: tlsServer.port, body: JSON.stringify({ KeyId: tlsKeyId, Plaintext: plaintext.toString('base64') }), scheme: 'https', pid: tlsServer.child.pid }) : [];
  // Audited (store + JSON-lines file, fsync per group commit) vs unaudited (goal >= 0.8).
  const auditRows = LINES.has('audit') ? await featureLine('audited vs unaudited', 'audited', 'unaudited', noAudit.port, noAuditKeyId, noAudit.child.pid) : [];
  const rows: string[] = [];
  const head = '| operation | conc | rekey req/s | p50 ms | p99 ms | rekey CPU µs/req | bare req/s | bare p50 | bare p99 | ratio |';
  rows.push(head, '|---|---|---|---|---|---|---|---|---|---|');
  process.stderr.write(`bench/kms: ${SECONDS}s per cell, concurrency ${CONCURRENCY.join(', ')}\n`);
  for (const c of LINES.has('bare') ? CONCURRENCY : []) {
    // bare server measured once per concurrency, with the Encrypt request bytes
    const [, t0, b0] = ops[0]!;
    const bareCell = await load(bare.port, await sign(bare.port, t0, b0), b0, c);
    for (const [name, target, body] of ops) {
      const cell = await load(rekey.port, await sign(rekey.port, target, body), body, c, 'http', rekey.child.pid);
      if (cell.errors > 0) process.stderr.write(`WARNING: ${name} c=${c}: ${cell.errors} errors\n`);
      rows.push(`| ${name} | ${c} | ${cell.rps.toFixed(0)} | ${cell.p50} | ${cell.p99} | ${cell.cpuUsPerReq?.toFixed(0) ?? 'n/a'} | ${bareCell.rps.toFixed(0)} | ${bareCell.p50} | ${bareCell.p99} | ${(cell.rps / bareCell.rps).toFixed(2)} |`);
      process.stderr.write(rows[rows.length - 1] + '\n');
    }
  }
  for (const x of extra) {
    x.child.kill('SIGTERM');
    rmSync(x.dir, { recursive: true, force: true });
  }
  process.stdout.write('\n' + [floorRows, sinkRows, rows.length > 2 ? rows : [], auth, auditRows, tlsRows].filter((t) => t.length > 0).map((t) => t.join('\n')).join('\n\n') + '\n');
} finally {
  bare.child.kill('SIGTERM');
  noAudit.child.kill('SIGTERM');
  rekey.child.kill('SIGTERM');
  noAuth.child.kill('SIGTERM');
  tlsServer.child.kill('SIGTERM');
  plain.child.kill('SIGTERM');
  rmSync(tlsDir, { recursive: true, force: true });
  rmSync(plainDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(noAuthDir, { recursive: true, force: true });
  rmSync(noAuditDir, { recursive: true, force: true });
}
