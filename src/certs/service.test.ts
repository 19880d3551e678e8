import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBackend } from '../storage/memory.ts';
import { Barrier, initializeSeal } from '../storage/barrier.ts';
import { randomBytes } from '../crypto/index.ts';
import { parseCertificate, isSignedBy, generateCa, issueCertificate } from '../crypto/x509.ts';
import { CertService, normalizeSan, type CertEvent, type TlsContext } from './service.ts';

const DAY = 86_400_000;

async function barrierOn(backend = new MemoryBackend(), root = randomBytes(32)) {
  await initializeSeal(backend, root, 'test');
  return { backend, root, barrier: await Barrier.unseal(backend, root) };
}

test('certs: init creates the CA and a server certificate with the SANs; rotation is due at 2/3 of the lifetime', async () => {
  const { barrier } = await barrierOn();
  let now = Date.parse('2030-01-01T00:00:00Z');
  const events: CertEvent[] = [];
  const svc = new CertService({ barrier, node: 'n1', mode: 'generated', sans: ['localhost', '127.0.0.1', '::1'], certLifetimeMs: 30 * DAY, clock: () => new Date(now), onEvent: (e) => events.push(e) });
  await svc.init();
  const ctx = svc.serverContext();
  const info = parseCertificate(ctx.cert);
  assert.deepEqual(info.dnsNames, ['localhost']);
  assert.equal(isSignedBy(ctx.cert, ctx.ca!), true);
  assert.deepEqual(events.map((e) => e.type), ['CreateCertificateAuthority', 'IssueCertificate']);
  const rotated: TlsContext[] = [];
  svc.onRotated((c) => rotated.push(c));
  now += 19 * DAY; // before 2/3 of 30 days
  await svc.check();
  assert.equal(rotated.length, 0);
  now += 2 * DAY; // 21 days > 20 days
  await svc.check();
  assert.equal(rotated.length, 1);
  const next = parseCertificate(rotated[0]!.cert);
  assert.notEqual(next.serial, info.serial);
  const st = await svc.status();
  assert.equal(st.server.serial, next.serial);
  assert.deepEqual(st.history.map((h) => [h.reason, h.replaced ?? null]), [['scheduled', info.serial], ['initial', null]]);
  assert.equal(events.at(-1)!.type, 'RotateCertificate');
  // the private key never appears in the status or the history
  assert.doesNotMatch(JSON.stringify(st), /PRIVATE KEY/);
});

test('certs: two nodes on one store share the CA and the certificate; one rotation, the other adopts it', async () => {
  const { barrier, backend, root } = await barrierOn();
  const b2 = await Barrier.unseal(backend, root);
  const a = new CertService({ barrier, node: 'a', mode: 'generated', sans: ['localhost'] });
  const b = new CertService({ barrier: b2, node: 'b', mode: 'generated', sans: ['localhost'] });
  await Promise.all([a.init(), b.init()]);
  await a.check();
  await b.check();
  assert.equal(a.caBundle(), b.caBundle());
  assert.equal(parseCertificate(a.serverContext().cert).serial, parseCertificate(b.serverContext().cert).serial);
  const seen: string[] = [];
  b.onRotated((c) => seen.push(parseCertificate(c.cert).serial));
  const v = await a.rotate('manual');
  await b.check();
  assert.deepEqual(seen, [v.serial]);
  // both rotate at once: exactly one new certificate wins and both end on it
  await Promise.all([a.rotate(), b.rotate()]);
  await a.check();
  await b.check();
  assert.equal(parseCertificate(a.serverContext().cert).serial, parseCertificate(b.serverContext().cert).serial);
});

test('certs: a SAN added to the configuration is issued at start (SANs only grow); IPv6 normalized', async () => {
  const { barrier } = await barrierOn();
  await new CertService({ barrier, node: 'a', mode: 'generated', sans: ['localhost'] }).init();
  const b = new CertService({ barrier, node: 'a', mode: 'generated', sans: ['rekey.internal', '::1'] });
  await b.init();
  const info = parseCertificate(b.serverContext().cert);
  assert.deepEqual(info.dnsNames.sort(), ['localhost', 'rekey.internal']);
  assert.equal((await b.status()).history[0]!.reason, 'sans-changed');
  assert.equal(normalizeSan('::1'), '0:0:0:0:0:0:0:1');
  assert.equal(normalizeSan('fe80::a:1'), 'FE80:0:0:0:0:0:A:1');
});

test('certs: files mode loads, reloads on change, keeps the old pair when the new files are bad', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-certs-'));
  try {
    const now = new Date();
    const ca = await generateCa({ commonName: 'ext', notBefore: now, notAfter: new Date(now.getTime() + DAY) });
    const mk = () => issueCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, commonName: 'x', sans: ['localhost'], notBefore: now, notAfter: new Date(now.getTime() + DAY), usage: 'server' });
    const one = await mk();
    writeFileSync(join(dir, 'c.pem'), one.certPem);
    writeFileSync(join(dir, 'k.pem'), one.keyPem);
    const { barrier } = await barrierOn();
    const errors: string[] = [];
    const svc = new CertService({ barrier, node: 'n', mode: 'files', certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), onError: (m) => errors.push(m) });
    await svc.init();
    const seen: string[] = [];
    svc.onRotated((c) => seen.push(parseCertificate(c.cert).serial));
    const two = await mk();
    writeFileSync(join(dir, 'c.pem'), two.certPem);
    writeFileSync(join(dir, 'k.pem'), two.keyPem);
    utimesSync(join(dir, 'c.pem'), new Date(), new Date(Date.now() + 5000));
    await svc.check();
    assert.deepEqual(seen, [parseCertificate(two.certPem).serial]);
    // a key that does not match: refused, the current pair stays
    writeFileSync(join(dir, 'k.pem'), one.keyPem);
    await svc.reload();
    assert.equal(seen.length, 1);
    assert.match(errors[0]!, /does not match the certificate/);
    await assert.rejects(svc.rotate(), { name: 'ValidationException', message: /comes from files/ });
    await assert.rejects(svc.rotateCa('start'), { name: 'ValidationException', message: 'rekey\'s CA is not used: tls.mode is "files" (the certificate and its CA come from your files).' });
    await assert.rejects(new CertService({ barrier, node: 'n', mode: 'files', certFile: join(dir, 'nope.pem'), keyFile: join(dir, 'k.pem') }).init(), { name: 'ConfigurationError', message: /cannot read the TLS files/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
