// Rotating rekey's CA through a real HTTPS server, the CLI and the real AWS SDK (docs/TLS.md
// "Rotating rekey's CA"): a client that trusts only the original CA keeps working through phase 1;
// a client that took the phase-1 bundle keeps working through phases 2 and 3 under continuous load
// without one failed request; a client still trusting only the old CA is refused after phase 2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient, CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { rekeyCli } from './helpers/rekey-cli.ts';
import { isSignedBy, parseCertificate } from '../src/crypto/x509.ts';
import { signRequest } from '../src/iam/sigv4-sign.ts';

let s: TestServer;
let dir: string;
before(async () => {
  s = await startTestServer({ env: { REKEY_TLS: 'generated' } });
  dir = mkdtempSync(join(tmpdir(), 'rekey-ca-rotation-'));
});
after(async () => {
  await s.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const rekey = rekeyCli;

const certsIn = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g) ?? [];

/** The certificate a fresh TLS handshake gets, verified against `ca`. */
function served(ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port: s.port, ca, servername: 'localhost' }, () => {
      const raw = sock.getPeerCertificate().raw;
      sock.end();
      resolve(`-----BEGIN CERTIFICATE-----\n${raw.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`);
    });
    sock.on('error', reject);
  });
}

const kms = (ca: string, keepAlive: boolean) => new KMSClient({
  endpoint: s.url, region: 'us-east-1', credentials: TEST_CREDS, maxAttempts: 1,
  requestHandler: new NodeHttpHandler({ httpsAgent: new HttpsAgent({ ca, keepAlive, maxSockets: 2 }) }),
});

test('CA rotation over HTTPS: old-only clients work through phase 1 and fail after phase 2; refreshed clients lose no request through phases 2 and 3', async () => {
  const conn = ['--endpoint', s.url, '--ca-bundle', s.caBundlePath!];
  const original = s.ca!;
  assert.equal(certsIn(original).length, 1);
  const keyId = (await s.kmsClient().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const encrypt = (c: KMSClient) => c.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));

  // a step out of order is refused, names the phase, and changes nothing
  const early = await rekey(['certs', 'rotate-ca', '--finish', ...conn]);
  assert.equal(early.status, 2);
  assert.match(early.err, /CertificateAuthorityRotationStateException: No rotation of rekey's CA is in progress: start one with rekey certs rotate-ca\./);

  // ---- phase 1: the new CA is published beside the old one
  const p1 = await rekey(['certs', 'rotate-ca', ...conn]);
  assert.equal(p1.status, 0, p1.err);
  assert.match(p1.out, /CA rotation: phase 1: new CA published beside the old one/);
  const bundle = readFileSync(s.caBundlePath!, 'utf8'); // <dataDir>/tls/ca.pem, rewritten
  assert.equal(bundle, s.certs!.caBundle());
  assert.equal(certsIn(bundle).length, 2);
  assert.equal(certsIn(bundle)[0], original);
  const newCa = certsIn(bundle)[1]!;
  const fetched = await rekey(['certs', 'bundle', '--out', join(dir, 'bundle.pem'), ...conn]);
  assert.equal(fetched.status, 0, fetched.err);
  assert.equal(readFileSync(join(dir, 'bundle.pem'), 'utf8'), bundle);
  const status1 = await rekey(['certs', 'status', ...conn]);
  assert.match(status1.out, /next: +phase 2 \(server certificate from the new CA\) starts .* \(or: rekey certs rotate-ca --complete\)/);
  // a client that trusts only the original CA keeps working in phase 1, on new connections too
  const oldOnly = kms(original, false);
  for (let i = 0; i < 5; i++) await encrypt(oldOnly);
  assert.equal(isSignedBy(await served(original), original), true);

  // ---- continuous load from clients that refreshed their bundle in phase 1
  const clients = [kms(bundle, true), kms(bundle, true), kms(bundle, false), kms(bundle, false)];
  let ok = 0;
  const failures: string[] = [];
  let stop = false;
  const worker = async (c: KMSClient) => {
    while (!stop) {
      try {
        await encrypt(c);
        ok++;
      } catch (e) {
        failures.push(`${(e as Error).name}: ${(e as Error).message}`);
      }
    }
  };
  const flowing = async () => { const at = ok; while (ok < at + 20) await new Promise((r) => setTimeout(r, 10)); };
  const workers = clients.flatMap((c) => [worker(c), worker(c)]);
  try {
    await flowing();
    // ---- phase 2: the server certificate from the new CA, swapped in without a restart
    const p2 = await rekey(['certs', 'rotate-ca', '--complete', '--endpoint', s.url, '--ca-bundle', join(dir, 'bundle.pem')]);
    assert.equal(p2.status, 0, p2.err);
    assert.match(p2.out, /phase 2: the server certificate comes from the new CA/);
    const cert2 = await served(bundle);
    assert.equal(isSignedBy(cert2, newCa), true);
    assert.equal(isSignedBy(cert2, original), false);
    await flowing();
    // a client still trusting only the old CA is refused at the handshake (the server sends the new
    // CA with its certificate, which that client does not trust)
    await assert.rejects(encrypt(kms(original, false)), (e: Error & { code?: string }) => {
      assert.match(`${e.code} ${e.message}`, /^SELF_SIGNED_CERT_IN_CHAIN self-signed certificate in certificate chain/);
      return true;
    });
    await assert.rejects(served(original), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });

    // ---- phase 3: the old CA leaves the bundle
    const p3 = await rekey(['certs', 'rotate-ca', '--finish', ...conn]);
    assert.equal(p3.status, 0, p3.err);
    assert.match(p3.out, /CA rotation: no rotation in progress/);
    assert.deepEqual(certsIn(readFileSync(s.caBundlePath!, 'utf8')), [newCa]);
    assert.equal(await served(newCa), cert2);
    await flowing();
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  assert.deepEqual(failures, []);
  assert.ok(ok >= 60, `requests completed: ${ok}`);

  const st = JSON.parse((await rekey(['certs', 'status', '--json', '--endpoint', s.url, '--ca-bundle', s.caBundlePath!])).out);
  assert.equal(st.caRotation.phase, 0);
  assert.equal(st.ca.serial, parseCertificate(newCa).serial);
  assert.deepEqual(st.history.slice(0, 4).map((h: { reason: string }) => h.reason), ['ca-finish', 'ca-switch', 'ca-changed', 'ca-publish']);

  await s.audit.settled(); // group commit
  const events = async (eventName: string) => (await s.audit.lookup({ eventName, maxResults: 100 })).events.map((e) => e.event);
  const rot = await events('RotateCertificateAuthority');
  const phases = rot.filter((e) => e.eventSource === 'rekey.certs').map((e) => e.additionalEventData as Record<string, string>);
  assert.deepEqual(phases.map((d) => d.phase).sort(), ['1', '2', '3']);
  for (const d of phases) assert.deepEqual([d.serial, d.replaced, d.trigger], [parseCertificate(newCa).serial, parseCertificate(original).serial, 'manual']);
  const admin = rot.filter((e) => e.eventSource === 'rekey.admin');
  // a mutating admin call records its event right before its first write (through the call's gated
  // view, src/storage/gate.ts); the refused early finish writes nothing, so it has one event, with its
  // error, and no correction (docs/AUDIT.md)
  assert.deepEqual(admin.map((e) => `${(e.requestParameters as { step?: string } | null)?.step ?? '-'}:${e.errorCode ?? 'ok'}`).sort(),
    ['complete:ok', 'finish:CertificateAuthorityRotationStateException', 'finish:ok', 'start:ok']);
  const refused = admin.find((e) => e.errorCode === 'CertificateAuthorityRotationStateException')!;
  assert.equal(admin.filter((e) => e.requestID === refused.requestID).length, 1);
  assert.equal((refused.additionalEventData as { correctsEventId?: string } | undefined)?.correctsEventId, undefined);
  const created = (await events('CreateCertificateAuthority')).filter((e) => e.eventSource === 'rekey.certs');
  assert.equal(created.length, 2);
  assert.doesNotMatch(JSON.stringify([...rot, ...created]), /PRIVATE KEY/);
});

test('POST /v1/certs/ca/rotate: a bad step is a ValidationException and a principal without rekey:RotateCertificateAuthority is refused; neither changes the CA', async () => {
  const before = s.certs!.caBundle();
  const body = JSON.stringify({ step: 'sideways' });
  const u = new URL('/v1/certs/ca/rotate', s.url);
  const headers = signRequest({ method: 'POST', host: u.host, path: u.pathname, query: '', headers: { 'content-type': 'application/json' }, body }, TEST_CREDS, { region: 'us-east-1', service: 'iam' });
  const res = await new Promise<{ status: number; json: { error?: string; message?: string } }>((resolve, reject) => {
    const rq = httpsRequest(u, { method: 'POST', headers, ca: s.certs!.caBundle()! }, (r) => {
      let t = '';
      r.on('data', (d) => { t += d; });
      r.on('end', () => resolve({ status: r.statusCode ?? 0, json: JSON.parse(t) }));
    });
    rq.on('error', reject);
    rq.end(body);
  });
  assert.equal(res.status, 400);
  assert.equal(res.json.error, 'ValidationException');
  assert.match(res.json.message!, /^Invalid request: \/step must be equal to one of the allowed values/);

  const user = await s.iam.principals.createUser('no-ca-rotation');
  const k = await s.iam.accessKeys.create(user);
  const denied = await rekey(['certs', 'rotate-ca', '--endpoint', s.url, '--ca-bundle', s.caBundlePath!], { AWS_ACCESS_KEY_ID: k.accessKeyId, AWS_SECRET_ACCESS_KEY: k.secretAccessKey });
  assert.equal(denied.status, 2);
  assert.match(denied.err, /AccessDeniedException: .*rekey:RotateCertificateAuthority.*certificate\/ca/);
  const both = await rekey(['certs', 'rotate-ca', '--complete', '--finish', '--endpoint', s.url, '--ca-bundle', s.caBundlePath!]);
  assert.equal(both.status, 2);
  assert.match(both.err, /ConfigurationError: --complete and --finish are two different phases: give one/);
  assert.equal(s.certs!.caBundle(), before);
});
