// Rotation of rekey's CA with an injected clock: the three phases on demand, the automatic start
// before the CA expires and the automatic phase changes, and two nodes on one store converging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend } from '../storage/memory.ts';
import { Barrier, initializeSeal } from '../storage/barrier.ts';
import { randomBytes } from '../crypto/index.ts';
import { parseCertificate, isSignedBy } from '../crypto/x509.ts';
import { CertService, type CertEvent, type TlsContext } from './service.ts';
import { caRenewAtOf } from './ca-rotation.ts';

const DAY = 86_400_000;
const certsIn = (pem: string | undefined) => (pem ?? '').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g) ?? [];
const serialOf = (pem: string) => parseCertificate(pem).serial;

async function store() {
  const backend = new MemoryBackend();
  const root = randomBytes(32);
  await initializeSeal(backend, root, 'test');
  return { backend, root, barrier: await Barrier.unseal(backend, root) };
}

function node(barrier: Barrier, name: string, clock: () => Date, extra: Partial<ConstructorParameters<typeof CertService>[0]> = {}) {
  const events: CertEvent[] = [];
  const svc = new CertService({ barrier, node: name, mode: 'generated', sans: ['localhost'], clock, onEvent: (e) => events.push(e), ...extra });
  const contexts: TlsContext[] = [];
  svc.onRotated((c) => contexts.push(c));
  return { svc, events, contexts };
}

test('CA rotation on demand: phase 1 publishes old+new, phase 2 moves the server certificate to the new CA, phase 3 drops the old CA', async () => {
  const { barrier } = await store();
  let now = Date.parse('2030-01-01T00:00:00Z');
  const { svc, events, contexts } = node(barrier, 'n1', () => new Date(now));
  await svc.init();
  const oldCa = svc.caBundle()!;
  const firstCert = svc.serverContext().cert;
  assert.equal(certsIn(oldCa).length, 1);
  await assert.rejects(svc.rotateCa('complete'), { name: 'CertificateAuthorityRotationStateException', message: 'No rotation of rekey\'s CA is in progress: start one with rekey certs rotate-ca.' });

  now += DAY;
  const p1 = await svc.rotateCa('start');
  assert.equal(p1.phase, 1);
  const bundle1 = svc.caBundle()!;
  assert.equal(certsIn(bundle1).length, 2);
  assert.equal(certsIn(bundle1)[0], oldCa); // the old CA still signs: listed first
  const newCa = certsIn(bundle1)[1]!;
  assert.equal(svc.serverContext().cert, firstCert); // phase 1 leaves the server certificate alone
  assert.equal(svc.serverContext().ca, bundle1); // client certificates from either CA verify
  assert.equal(contexts.length, 1);
  assert.deepEqual(p1.authorities.map((a) => a.role), ['signing', 'next']);
  assert.equal(p1.nextStep, 'complete');
  assert.equal(p1.nextStepAt, new Date(now + 30 * DAY).toISOString()); // default overlap: 30 days
  await assert.rejects(svc.rotateCa('start'), { name: 'CertificateAuthorityRotationStateException', message: /^A rotation of rekey's CA is already in phase 1 since 2030-01-02T00:00:00.000Z: complete it \(rekey certs rotate-ca --complete\)/ });
  await assert.rejects(svc.rotateCa('finish'), { name: 'CertificateAuthorityRotationStateException', message: /is in phase 1 since .*complete it first/ });
  // a certificate issued in phase 1 comes from the old CA; its CA file is the whole bundle
  const proxy = await svc.issue({ commonName: 'proxy', sans: ['db.internal'], usage: 'server' });
  assert.equal(isSignedBy(proxy.certPem, oldCa), true);
  assert.equal(proxy.caPem, bundle1);

  now += DAY;
  const p2 = await svc.rotateCa('complete');
  assert.equal(p2.phase, 2);
  const cert2 = svc.serverContext().cert;
  assert.equal(isSignedBy(cert2, newCa), true);
  assert.equal(isSignedBy(cert2, oldCa), false);
  assert.deepEqual(certsIn(svc.caBundle()), [newCa, oldCa]);
  assert.equal(contexts.at(-1)!.cert, cert2); // onRotated fired with the certificate from the new CA
  assert.deepEqual(p2.authorities.map((a) => [a.role, a.serial]), [['signing', serialOf(newCa)], ['previous', serialOf(oldCa)]]);
  await assert.rejects(svc.rotateCa('complete'), { name: 'CertificateAuthorityRotationStateException', message: /already in phase 2 .*finish it with rekey certs rotate-ca --finish/ });

  now += DAY;
  const p3 = await svc.rotateCa('finish');
  assert.equal(p3.phase, 0);
  assert.deepEqual(certsIn(svc.caBundle()), [newCa]);
  assert.equal(svc.serverContext().cert, cert2);
  assert.equal(p3.nextStep, 'start');

  const st = await svc.status();
  assert.equal(st.ca!.serial, serialOf(newCa));
  assert.deepEqual(st.history.map((h) => [h.kind ?? 'server', h.reason, h.trigger ?? null]), [
    ['ca', 'ca-finish', 'manual'], ['ca', 'ca-switch', 'manual'], ['server', 'ca-changed', null], ['ca', 'ca-publish', 'manual'], ['server', 'initial', null],
  ]);
  assert.equal(st.history[0]!.replaced, serialOf(oldCa));
  assert.doesNotMatch(JSON.stringify(st), /PRIVATE KEY/);
  const rot = events.filter((e) => e.type === 'RotateCertificateAuthority');
  assert.deepEqual(rot.map((e) => [e.phase, e.serial, e.replaced, e.trigger]), [1, 2, 3].map((p) => [p, serialOf(newCa), serialOf(oldCa), 'manual']));
  assert.deepEqual(events.map((e) => e.type), [
    'CreateCertificateAuthority', 'IssueCertificate', // init
    'CreateCertificateAuthority', 'RotateCertificateAuthority', 'IssueCertificate', // start, issue()
    'RotateCertificateAuthority', 'IssueCertificate', 'RotateCertificate', // complete
    'RotateCertificateAuthority', // finish
  ]);
});

test('CA rotation starts by itself 2/3 into the CA\'s life and moves through the phases one overlap apart', async () => {
  const { barrier } = await store();
  const t0 = Date.parse('2030-01-01T00:00:00Z');
  let now = t0;
  const { svc, events } = node(barrier, 'n1', () => new Date(now), { caLifetimeMs: 300 * DAY, caOverlapMs: 10 * DAY, certLifetimeMs: 398 * DAY });
  await svc.init();
  const oldSerial = serialOf(svc.caBundle()!);
  const renewAt = caRenewAtOf(parseCertificate(svc.caBundle()!), 10 * DAY).getTime();
  assert.ok(Math.abs(renewAt - (t0 + 200 * DAY)) < 2 * 60_000); // 2/3 of 300 days (the CA is backdated a minute)
  assert.equal((await svc.status()).ca!.renewAt, new Date(renewAt).toISOString());
  now = renewAt - 1000;
  await svc.check();
  assert.equal(certsIn(svc.caBundle()).length, 1);
  now = renewAt;
  await svc.check();
  assert.equal(certsIn(svc.caBundle()).length, 2);
  assert.equal((await svc.status()).caRotation!.trigger, 'scheduled');
  now += 10 * DAY - 1000;
  await svc.check();
  assert.equal((await svc.status()).caRotation!.phase, 1);
  now += 1000;
  await svc.check();
  const st2 = await svc.status();
  assert.equal(st2.caRotation!.phase, 2);
  assert.equal(st2.caRotation!.trigger, 'overlap-elapsed');
  assert.equal(isSignedBy(svc.serverContext().cert, certsIn(svc.caBundle())[0]!), true);
  now += 10 * DAY;
  await svc.check();
  const st3 = await svc.status();
  assert.equal(st3.caRotation!.phase, 0);
  assert.equal(certsIn(svc.caBundle()).length, 1);
  assert.notEqual(st3.ca!.serial, oldSerial);
  assert.deepEqual(events.filter((e) => e.type === 'RotateCertificateAuthority').map((e) => [e.phase, e.trigger]), [[1, 'scheduled'], [2, 'overlap-elapsed'], [3, 'overlap-elapsed']]);
});

test('CA rotation: a short-lived CA starts its rotation two overlaps before it expires, when 2/3 would be too late', () => {
  const notBefore = new Date('2030-01-01T00:00:00Z');
  const notAfter = new Date(notBefore.getTime() + 30 * DAY);
  assert.equal(caRenewAtOf({ notBefore, notAfter }, 12 * DAY).toISOString(), new Date(notBefore.getTime() + 6 * DAY).toISOString());
  assert.equal(caRenewAtOf({ notBefore, notAfter }, DAY).toISOString(), new Date(notBefore.getTime() + 20 * DAY).toISOString());
});

test('CA rotation: two nodes on one store converge; when both advance at once exactly one transition is stored', async () => {
  const { barrier, backend, root } = await store();
  let now = Date.parse('2030-01-01T00:00:00Z');
  const clock = () => new Date(now);
  const a = node(barrier, 'a', clock, { caOverlapMs: DAY });
  const b = node(await Barrier.unseal(backend, root), 'b', clock, { caOverlapMs: DAY });
  await Promise.all([a.svc.init(), b.svc.init()]);
  await b.svc.check();
  assert.equal(a.svc.caBundle(), b.svc.caBundle());

  await a.svc.rotateCa('start');
  await b.svc.check();
  assert.equal(b.svc.caBundle(), a.svc.caBundle());
  assert.equal(certsIn(b.svc.caBundle()).length, 2);
  assert.equal(b.contexts.at(-1)!.ca, a.svc.caBundle()); // b's listeners saw the new bundle
  // an operator on b asking for what a already did gets the state error, nothing changes
  await assert.rejects(b.svc.rotateCa('start'), { name: 'CertificateAuthorityRotationStateException', message: /already in phase 1/ });

  now += DAY; // the overlap has elapsed on both nodes: they race for phase 2
  await Promise.all([a.svc.check(), b.svc.check()]);
  await Promise.all([a.svc.check(), b.svc.check()]);
  const newCa = certsIn(a.svc.caBundle())[0]!;
  assert.equal(a.svc.caBundle(), b.svc.caBundle());
  assert.equal(a.svc.serverContext().cert, b.svc.serverContext().cert);
  assert.equal(isSignedBy(b.svc.serverContext().cert, newCa), true);
  assert.equal(isSignedBy(b.contexts.at(-1)!.cert, newCa), true);
  const hist = (await a.svc.status()).history;
  assert.equal(hist.filter((h) => h.reason === 'ca-switch').length, 1);
  assert.equal(hist.filter((h) => h.reason === 'ca-changed').length, 1);

  now += DAY;
  await Promise.all([a.svc.check(), b.svc.check()]);
  await Promise.all([a.svc.check(), b.svc.check()]);
  assert.deepEqual(certsIn(a.svc.caBundle()), [newCa]);
  assert.deepEqual(certsIn(b.svc.caBundle()), [newCa]);
  assert.equal((await b.svc.status()).history.filter((h) => h.reason === 'ca-finish').length, 1);
  const phases = [...a.events, ...b.events].filter((e) => e.type === 'RotateCertificateAuthority').map((e) => e.phase).sort();
  assert.deepEqual(phases, [1, 2, 3]);
});
