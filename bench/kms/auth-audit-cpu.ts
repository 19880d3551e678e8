// bench/kms/auth-audit-cpu.ts: CPU per call of the pieces authentication and auditing add to one
// KMS Encrypt, in one process, without HTTP: SigV4 verification with the identity lookup
// (IamService.authenticate, from the raw header list as the pipeline builds it), the key policy +
// IAM policy decision (IamService.decideKms), the audit event (AuditedCall.succeeded) and its
// chaining (chainOne: canonical JSON + SHA-256). Each stage runs for BENCH_MS (default 1000 ms)
// after a warm-up; the figure is process CPU (user + system) per call, which a shared machine
// disturbs far less than wall time. Usage: node --import tsx bench/kms/auth-audit-cpu.ts
import { headersFromRaw, type SignedRequest } from '../../src/iam/sigv4.ts';
import { signRequest } from '../../src/iam/sigv4-sign.ts';
import { IamService } from '../../src/iam/service.ts';
import { compilePolicy } from '../../src/iam/policy/compile.ts';
import { defaultKeyPolicy } from '../../src/iam/policy/key-policy.ts';
import { AuditedCall, type Appender } from '../../src/audit/call.ts';
import type { AuditEvent } from '../../src/audit/event.ts';
import { chainOne, EMPTY_HEAD, type ChainHead } from '../../src/audit/chain.ts';
import { MemoryBackend } from '../../src/storage/memory.ts';
import { Barrier, initializeSeal } from '../../src/storage/barrier.ts';
import { randomBytes } from '../../src/crypto/index.ts';

const MS = Number(process.env.BENCH_MS ?? 1000);
const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const creds = { accessKeyId: 'AKIAREKEYBENCH000001', secretAccessKey: 'bench-secret-bench-secret-bench-secret-01' };

const backend = new MemoryBackend();
const root = randomBytes(32);
await initializeSeal(backend, root, 'bench');
const barrier = await Barrier.unseal(backend, root);
const iam = new IamService({ barrier, accountId: ACCOUNT, region: REGION, cacheTtlMs: 3_600_000 });
await iam.bootstrap(creds);

const keyId = '1234abcd-12ab-34cd-56ef-1234567890ab';
const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`;
const input = { KeyId: keyId, Plaintext: Buffer.alloc(1024, 7).toString('base64') };
const body = JSON.stringify(input);
const signedHeaders = signRequest(
  { method: 'POST', host: '127.0.0.1:8370', path: '/', headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Encrypt' }, body },
  creds, { region: REGION, service: 'kms' },
);
// As the wire carries them (autocannon adds content-length; the SDKs send user-agent too).
const raw: string[] = [];
for (const [k, v] of Object.entries({ ...signedHeaders, 'content-length': String(body.length), 'user-agent': 'aws-sdk-js/3 bench' })) raw.push(k.replace(/(^|-)([a-z])/g, (_, a: string, b: string) => a + b.toUpperCase()), v);
const bodyBuf = Buffer.from(body);
const request = (): SignedRequest => ({ method: 'POST', path: '/', query: '', headers: headersFromRaw(raw), body: bodyBuf });

const identity = await iam.authenticate(request(), 'kms');
const keyPolicy = compilePolicy(defaultKeyPolicy({ accountId: ACCOUNT }), 'resource');
const output = { KeyId: keyArn, CiphertextBlob: Buffer.alloc(1100, 3).toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
let lastEvent: AuditEvent | null = null;
const appender: Appender = { append: (e) => { lastEvent = e; return Promise.resolve(); } };

async function stage(name: string, fn: () => unknown | Promise<unknown>): Promise<number> {
  const run = async (ms: number): Promise<{ n: number; cpuUs: number }> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < ms) {
      for (let i = 0; i < 100; i++) await fn();
      n += 100;
    }
    const c = process.cpuUsage(c0);
    return { n, cpuUs: c.user + c.system };
  };
  await run(Math.min(300, MS));
  const r = await run(MS);
  const per = r.cpuUs / r.n;
  process.stdout.write(`| ${name} | ${r.n} | ${per.toFixed(2)} |\n`);
  return per;
}

process.stdout.write('| stage | calls | CPU µs/call |\n|---|---|---|\n');
let total = 0;
total += await stage('SigV4 + identity (IamService.authenticate)', () => iam.authenticate(request(), 'kms'));
total += await stage('key policy + IAM policy (decideKms)', () => iam.decideKms(identity, {
  action: 'kms:Encrypt', keyArn, keyPolicy,
  request: { sourceIp: '127.0.0.1', secureTransport: false, encryptionContext: undefined, requestAlias: undefined, grantOperations: undefined },
}));
let n = 0;
total += await stage('audit event (AuditedCall.succeeded)', () => {
  const call = new AuditedCall(appender, { service: 'kms', operation: 'Encrypt', requestId: `req-${n++}`, sourceIp: '127.0.0.1', userAgent: 'aws-sdk-js/3 bench', region: REGION, now: new Date(), input, caller: identity });
  void call.mutating;
  return call.succeeded(output);
});
let head: ChainHead = EMPTY_HEAD;
const ev = lastEvent!;
total += await stage('chain one event (chainOne)', () => {
  const c = chainOne('node-bench', head, ev);
  head = { seq: c.record.seq, hash: c.record.hash };
});
process.stdout.write(`| total | | ${total.toFixed(2)} |\n`);
