import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCa, issueCertificate, parseCertificate, isSignedBy, keyMatchesCertificate } from './x509.ts';

test('x509: a CA issues a server certificate with DNS and IP SANs that verifies against it', async () => {
  const now = new Date();
  const ca = await generateCa({ commonName: 'rekey test CA', notBefore: now, notAfter: new Date(now.getTime() + 86_400_000) });
  const caInfo = parseCertificate(ca.certPem);
  assert.equal(caInfo.isCa, true);
  assert.match(caInfo.subject, /CN=rekey test CA/);
  const leaf = await issueCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, commonName: 'localhost', sans: ['localhost', '127.0.0.1', '::1'], notBefore: now, notAfter: new Date(now.getTime() + 3_600_000), usage: 'server' });
  const info = parseCertificate(leaf.certPem);
  assert.deepEqual(info.dnsNames, ['localhost']);
  assert.deepEqual(info.ipAddresses.sort(), ['0:0:0:0:0:0:0:1', '127.0.0.1'].sort());
  assert.equal(info.isCa, false);
  assert.match(info.serial, /^[0-9a-f]+$/);
  assert.match(info.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.equal(Math.floor(info.notAfter.getTime() / 1000), Math.floor((now.getTime() + 3_600_000) / 1000));
  assert.equal(isSignedBy(leaf.certPem, ca.certPem), true);
  assert.equal(keyMatchesCertificate(leaf.certPem, leaf.keyPem), true);
  assert.equal(keyMatchesCertificate(leaf.certPem, ca.keyPem), false);
  const other = await generateCa({ commonName: 'other', notBefore: now, notAfter: new Date(now.getTime() + 86_400_000) });
  assert.equal(isSignedBy(leaf.certPem, other.certPem), false);
});

test('x509: client certificates carry the principal as a URI SAN; bad PEM is a RangeError', async () => {
  const now = new Date();
  const ca = await generateCa({ commonName: 'ca', notBefore: now, notAfter: new Date(now.getTime() + 86_400_000) });
  const c = await issueCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, commonName: 'alice', sans: [], uris: ['arn:aws:iam::111122223333:user/alice'], notBefore: now, notAfter: new Date(now.getTime() + 3_600_000), usage: 'client' });
  assert.deepEqual(parseCertificate(c.certPem).uris, ['arn:aws:iam::111122223333:user/alice']);
  assert.throws(() => parseCertificate('nope'), { name: 'RangeError', message: 'not a PEM-encoded X.509 certificate' });
});
