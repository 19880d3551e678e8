// /metrics end to end (docs/METRICS.md): a real server with its metrics listener, real SDK calls
// (allowed, denied, throttled), the exposition scraped over HTTP and parsed with a Prometheus
// text-format parser; every counter moved by exactly the calls made.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CreateKeyCommand, EncryptCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import parse, { type PromFamily, type PromSample } from 'parse-prometheus-text-format';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { signRequest } from '../src/iam/sigv4-sign.ts';
import { until } from './helpers/db-node.ts';

let s: TestServer;
const T0 = Date.now();
before(async () => {
  // quotas on, with a frozen clock (no refill): kms:cryptographic 4/s for the account, 2 per principal
  s = await startTestServer({ env: { REKEY_METRICS_LISTEN: '127.0.0.1:0', REKEY_QUOTAS: 'on', REKEY_QUOTA_RATES: 'kms:cryptographic=4' }, clock: () => new Date(T0) });
});
after(async () => { await s.cleanup(); });

async function scrape(): Promise<{ families: Map<string, PromFamily>; text: string; contentType: string }> {
  const res = await fetch(s.metrics!.url);
  assert.equal(res.status, 200);
  const text = await res.text();
  return { families: new Map(parse(text).map((f) => [f.name, f])), text, contentType: res.headers.get('content-type') ?? '' };
}

/**
 * One labeled series of a histogram. parse-prometheus-text-format folds every series of a histogram
 * family into one (it was written for unlabeled ones), so it is given that family's header and the
 * lines of one series only
 */
function histogram(text: string, name: string, labels: string): PromSample {
  const lines = text.split('\n').filter((l) => l.startsWith(`# HELP ${name} `) || l.startsWith(`# TYPE ${name} `)
    || (new RegExp(`^${name}_(bucket|sum|count)\\{`).test(l) && l.includes(labels)));
  // and without the series' labels (it reads _sum and _count of unlabeled series only)
  const fam = parse(`${lines.map((l) => l.replace(`,${labels}`, '').replace(`{${labels}}`, '')).join('\n')}\n`);
  assert.equal(fam.length, 1);
  assert.equal(fam[0]!.metrics.length, 1);
  return fam[0]!.metrics[0]!;
}

/** The value of the sample of `name` whose labels include `labels` (0 when there is none). */
function value(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number {
  const f = families.get(name);
  const m = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m ? Number(m.value ?? m.count) : 0;
}

test('metrics: an Encrypt, a denied call and a throttled call move the request, throttle and key-usage counters by exactly one each', async () => {
  const kms = s.kmsClient();
  const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  const u = await s.iam.principals.createUser('nobody'); // no policy: every KMS call is denied
  const k = await s.iam.accessKeys.create(u);
  const nobody = s.kmsClient({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey });
  const plaintext = Buffer.from('metrics-test-plaintext-do-not-leak');

  const before = await scrape();
  assert.match(before.contentType, /^text\/plain; version=0\.0\.4/);
  const kmsEncrypt = { api: 'kms', operation: 'Encrypt' };
  const at0 = {
    ok: value(before.families, 'rekey_requests_total', { ...kmsEncrypt, outcome: 'success' }),
    denied: value(before.families, 'rekey_requests_total', { ...kmsEncrypt, outcome: 'AccessDeniedException' }),
    throttled: value(before.families, 'rekey_requests_total', { ...kmsEncrypt, outcome: 'ThrottlingException' }),
    throttles: value(before.families, 'rekey_throttled_requests_total', kmsEncrypt),
    latency: value(before.families, 'rekey_request_duration_seconds', kmsEncrypt),
    used: value(before.families, 'rekey_kms_key_encryptions_total', { key_id: key.KeyId! }),
  };
  assert.deepEqual(at0, { ok: 0, denied: 0, throttled: 0, throttles: 0, latency: 0, used: 0 });
  assert.equal(value(before.families, 'rekey_requests_total', { api: 'kms', operation: 'CreateKey', outcome: 'success' }), 1);

  // denied (the principal's bucket 2 -> 1), two Encrypts (the dev principal's 2 -> 0), one throttled
  await assert.rejects(nobody.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: plaintext })), (e: Error) => e.name === 'AccessDeniedException');
  await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: plaintext }));
  await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: plaintext }));
  await assert.rejects(kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: plaintext })), (e: Error) => e.name === 'ThrottlingException');

  const { families, text } = await scrape();
  assert.equal(value(families, 'rekey_requests_total', { ...kmsEncrypt, outcome: 'success' }), 2);
  assert.equal(value(families, 'rekey_requests_total', { ...kmsEncrypt, outcome: 'AccessDeniedException' }), 1);
  assert.equal(value(families, 'rekey_requests_total', { ...kmsEncrypt, outcome: 'ThrottlingException' }), 1);
  assert.equal(value(families, 'rekey_throttled_requests_total', kmsEncrypt), 1);
  assert.equal(families.get('rekey_request_duration_seconds')?.type, 'HISTOGRAM');
  const enc = histogram(text, 'rekey_request_duration_seconds', 'api="kms",operation="Encrypt"');
  assert.equal(Number(enc.count), 4);
  assert.equal(Number(enc.buckets!['+Inf']), 4);
  assert.ok(Number(enc.sum) > 0);
  // key usage: the two encryptions that ran, under the key's current material, with their bytes
  const used = families.get('rekey_kms_key_encryptions_total')!.metrics.filter((m) => m.labels?.key_id === key.KeyId);
  assert.equal(used.length, 1);
  assert.equal(Number(used[0]!.value), 2);
  assert.match(used[0]!.labels!.material_id!, /^[0-9a-f]{64}$|^[A-Za-z0-9-]+$/);
  assert.equal(value(families, 'rekey_kms_key_encrypted_bytes_total', { key_id: key.KeyId! }), 2 * plaintext.length);
  // the audit trail and the job engine are there too
  await s.audit.settled();
  assert.equal(families.get('rekey_audit_events_total')?.type, 'COUNTER');
  assert.equal(families.get('rekey_audit_queue_events')?.type, 'GAUGE');
  assert.ok(families.has('process_cpu_seconds_total'));
  // nothing secret in the exposition: no plaintext, no secret key, no request id
  assert.ok(!text.includes(plaintext.toString()), 'plaintext in the exposition');
  assert.ok(!text.includes(TEST_CREDS.secretAccessKey) && !text.includes(k.secretAccessKey), 'a secret access key in the exposition');
  assert.ok(!/request_?id/i.test(text), 'a request id label');

  // the next scrape moves by exactly the next call
  await assert.rejects(nobody.send(new ListKeysCommand({})), (e: Error) => e.name === 'AccessDeniedException');
  const after = await scrape();
  assert.equal(value(after.families, 'rekey_requests_total', { api: 'kms', operation: 'ListKeys', outcome: 'AccessDeniedException' }), 1);
  assert.equal(value(after.families, 'rekey_requests_total', { ...kmsEncrypt, outcome: 'success' }), 2);
});

test('metrics: admin calls are counted under api "admin" with their action', async () => {
  const before = value((await scrape()).families, 'rekey_requests_total', { api: 'admin', operation: 'rekey:ListJobs', outcome: 'success' });
  const u = new URL(`${s.url}/v1/jobs`);
  const headers = signRequest({ method: 'GET', host: u.host, path: u.pathname, query: '', headers: {}, body: '' }, TEST_CREDS, { region: 'us-east-1', service: 'iam', now: new Date() });
  assert.equal((await fetch(u, { headers })).status, 200);
  assert.equal(value((await scrape()).families, 'rekey_requests_total', { api: 'admin', operation: 'rekey:ListJobs', outcome: 'success' }), before + 1);
});

test('metrics: an invented operation name is recorded as UnknownOperation, not as itself', async () => {
  const r = await s.raw('TrentService.NoSuchOperationXyz', '{}');
  assert.equal(r.status, 400);
  const { text, families } = await scrape();
  assert.ok(!text.includes('NoSuchOperationXyz'));
  assert.ok(value(families, 'rekey_requests_total', { api: 'kms', operation: 'UnknownOperation' }) >= 1);
});

test('metrics: the API port does not serve them, and says where they are', async () => {
  const res = await fetch(`${s.url}/metrics`);
  assert.equal(res.status, 404);
  const body = await res.json() as { __type: string; message: string };
  assert.equal(body.__type, 'RouteNotFoundException');
  assert.match(body.message, /REKEY_METRICS_LISTEN/);
  // the listener serves /metrics only
  assert.equal((await fetch(s.metrics!.url.replace('/metrics', '/v1/jobs'))).status, 404);
});

test('metrics: jobs waiting by kind and state (read from the store), job transitions by kind, the audit group commit', async () => {
  s.jobs.registerKind('test.metrics', async () => ({ done: true }));
  await s.jobs.enqueue({ kind: 'test.later', target: 't', data: null, runAt: T0 + 86_400_000 });
  await s.jobs.enqueue({ kind: 'test.later', target: 't2', data: null, runAt: T0 + 86_400_000 });
  const { job } = await s.jobs.enqueue({ kind: 'test.metrics', target: 't', data: null });
  await until('the job to succeed', async () => (await s.jobs.get(job.id))?.state === 'succeeded', 10_000);
  await s.audit.settled();
  const { families } = await scrape();
  assert.equal(value(families, 'rekey_jobs', { kind: 'test.later', state: 'queued' }), 2);
  assert.equal(value(families, 'rekey_jobs', { kind: 'test.metrics' }), 0, 'a finished job is not waiting');
  assert.equal(value(families, 'rekey_job_events_total', { kind: 'test.metrics', event: 'succeeded' }), 1);
  assert.equal(value(families, 'rekey_audit_events_total'), s.audit.stats.events);
  assert.ok(value(families, 'rekey_audit_batches_total') >= 1);
  assert.equal(value(families, 'rekey_audit_queue_events'), 0);
});

test('metrics: certificate expiry (TLS generated)', async () => {
  const tls = await startTestServer({ env: { REKEY_TLS: 'generated', REKEY_METRICS_LISTEN: '127.0.0.1:0' } });
  try {
    const text = await (await fetch(tls.metrics!.url)).text();
    const expiry = parse(text).find((f) => f.name === 'rekey_certificate_expiry_seconds')!;
    const of = (c: string) => Number(expiry.metrics.find((m) => m.labels?.certificate === c)!.value);
    const DAY = 86_400;
    assert.ok(Math.abs(of('server') - 90 * DAY) < 600, `server certificate: ${of('server')} s`); // tls.certLifetimeSeconds
    assert.ok(Math.abs(of('ca') - 3650 * DAY) < 600, `CA: ${of('ca')} s`); // tls.caLifetimeSeconds
  } finally {
    await tls.cleanup();
  }
});

test('metrics: off by default (no listener, no registry)', async () => {
  const plain = await startTestServer();
  try {
    assert.equal(plain.metrics, undefined);
  } finally {
    await plain.cleanup();
  }
});
