// HTTPS with rekey's generated CA: the real SDK with the CA bundle, certificate rotation under
// continuous SDK load without a lost request, aws:SecureTransport, and the refusal to serve plain
// HTTP outside dev mode.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { Agent as HttpsAgent } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient, CreateKeyCommand, EncryptCommand, DecryptCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { loadConfig } from '../src/config/config.ts';
import { startServer } from '../src/server/start.ts';
import { parseCertificate, generateCa, issueCertificate } from '../src/crypto/x509.ts';

let s: TestServer;
before(async () => { s = await startTestServer({ env: { REKEY_TLS: 'generated' } }); });
after(async () => { await s.cleanup(); });

/** The serial of the certificate a fresh TLS handshake gets. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const serial = sock.getPeerCertificate().serialNumber.toLowerCase();
      sock.end();
      resolve(serial);
    });
    sock.on('error', reject);
  });
}

test('HTTPS: the SDK works against the generated CA (CA bundle); without it the handshake is refused', async () => {
  assert.match(s.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(readFileSync(s.caBundlePath!, 'utf8'), s.ca);
  const kms = s.kmsClient();
  const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const ct = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('over tls') }));
  const pt = await kms.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob! }));
  assert.equal(Buffer.from(pt.Plaintext!).toString(), 'over tls');
  const untrusting = new KMSClient({ endpoint: s.url, region: 'us-east-1', credentials: TEST_CREDS, maxAttempts: 1 });
  await assert.rejects(untrusting.send(new DescribeKeyCommand({ KeyId: keyId })), (e: Error & { code?: string }) => {
    assert.match(`${e.code} ${e.message}`, /SELF_SIGNED_CERT_IN_CHAIN|self-signed certificate/);
    return true;
  });
  // the certificate names what the configuration lists, and 127.0.0.1 verifies as an IP SAN
  const info = parseCertificate(s.certs!.serverContext().cert);
  assert.deepEqual(info.dnsNames, ['localhost']);
  assert.ok(info.ipAddresses.includes('127.0.0.1'));
});

/** Whether a TLS 1.2 handshake offering only `ciphers` completes, and the suite it got. */
function handshake(port: number, ca: string, ciphers: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2', ciphers }, () => {
      const name = sock.getCipher().name;
      sock.end();
      resolve(name);
    });
    sock.on('error', (e: Error & { code?: string }) => resolve(`refused: ${e.code ?? e.message}`));
  });
}

// Issue 17, item 13: TLS 1.2 offered CBC suites with SHA-1 MACs (Node's default list). AEAD only.
test('HTTPS: TLS 1.2 refuses CBC-SHA1 and CBC-SHA256 suites; an AEAD suite is accepted', async () => {
  const port = Number(new URL(s.url).port);
  for (const cbc of ['ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA', 'AES256-SHA', 'ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA384', 'AES128-GCM-SHA256']) {
    assert.match(await handshake(port, s.ca!, cbc), /^refused: .*(HANDSHAKE_FAILURE|handshake failure|ECONNRESET)/i, cbc);
  }
  assert.match(await handshake(port, s.ca!, 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256'), /^ECDHE-(RSA|ECDSA)-AES128-GCM-SHA256$/);
});

test('HTTPS: certificate rotation under continuous SDK load loses no request; new handshakes get the new certificate', async () => {
  const keyId = (await s.kmsClient().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  // half the workers keep their connections alive across the rotations, half open a new one per request
  const client = (keepAlive: boolean) => new KMSClient({
    endpoint: s.url, region: 'us-east-1', credentials: TEST_CREDS, maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpsAgent: new HttpsAgent({ ca: s.ca, keepAlive, maxSockets: 2 }) }),
  });
  const clients = [client(true), client(true), client(false), client(false)];
  let ok = 0;
  const failures: string[] = [];
  let stop = false;
  const worker = async (kms: KMSClient) => {
    while (!stop) {
      try {
        await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
        ok++;
      } catch (e) {
        failures.push(`${(e as Error).name}: ${(e as Error).message}`);
      }
    }
  };
  const workers = clients.flatMap((c) => [worker(c), worker(c)]);
  const serials = [await servedSerial(s.port, s.ca!)];
  for (let i = 0; i < 3; i++) {
    const before = ok;
    while (ok < before + 20) await new Promise((r) => setTimeout(r, 10)); // load flowing
    const v = await s.certs!.rotate('manual');
    serials.push(v.serial);
    assert.equal(await servedSerial(s.port, s.ca!), v.serial);
  }
  const end = ok;
  while (ok < end + 20) await new Promise((r) => setTimeout(r, 10));
  stop = true;
  await Promise.all(workers);
  assert.deepEqual(failures, []);
  assert.ok(ok >= 80, `requests completed: ${ok}`);
  assert.equal(new Set(serials).size, 4);
  const st = await s.certs!.status();
  assert.deepEqual(st.history.slice(0, 3).map((h) => h.reason), ['manual', 'manual', 'manual']);
  assert.equal(st.history[0]!.serial, serials[3]);
});

test('HTTPS: aws:SecureTransport reflects the connection (an identity policy requiring TLS allows over HTTPS, denies over HTTP)', async () => {
  const http = await startTestServer();
  try {
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } }] });
    const creds = async (srv: TestServer) => {
      const u = await srv.iam.principals.createUser('tls-only');
      await srv.iam.principals.putPolicy('user', 'tls-only', 'tls', policy);
      const k = await srv.iam.accessKeys.create(u);
      return { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
    };
    await s.kmsClient(await creds(s)).send(new CreateKeyCommand({}));
    await assert.rejects(http.kmsClient(await creds(http)).send(new CreateKeyCommand({})), { name: 'AccessDeniedException' });
  } finally {
    await http.cleanup();
  }
});

test('outside dev mode, rekey refuses plain HTTP unless told --insecure-http', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rekey-tls-'));
  try {
    writeFileSync(join(dataDir, 'root.key'), Buffer.alloc(32, 7).toString('hex'));
    const env = { REKEY_ROOT_KEY_FILE: join(dataDir, 'root.key'), REKEY_LOG_LEVEL: 'silent' };
    await assert.rejects(startServer(loadConfig({ dataDir, port: 0 }, env)), { name: 'ConfigurationError', message: /refusing to listen without TLS outside dev mode.*--insecure-http/ });
    const insecure = await startServer(loadConfig({ dataDir, port: 0, insecureHttp: true }, env));
    assert.match(insecure.url, /^http:/);
    await insecure.close();
    const tls = await startServer(loadConfig({ dataDir, port: 0 }, { ...env, REKEY_TLS: 'generated' }));
    assert.match(tls.url, /^https:/);
    await tls.close();
    assert.throws(() => loadConfig({ dataDir }, { ...env, REKEY_TLS: 'files' }), { name: 'ConfigurationError', message: /needs tls.certFile and tls.keyFile/ });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('files mode: the server certificate is re-read on SIGHUP and served to new handshakes; a bad pair is refused and the old one kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-tls-files-'));
  const now = new Date();
  const ca = await generateCa({ commonName: 'operator CA', notBefore: now, notAfter: new Date(now.getTime() + 86_400_000) });
  const leaf = () => issueCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, commonName: 'localhost', sans: ['localhost', '127.0.0.1'], notBefore: now, notAfter: new Date(now.getTime() + 86_400_000), usage: 'server' });
  const one = await leaf();
  writeFileSync(join(dir, 'tls.crt'), one.certPem);
  writeFileSync(join(dir, 'tls.key'), one.keyPem);
  const f = await startTestServer({ env: { REKEY_TLS: 'files', REKEY_TLS_CERT_FILE: join(dir, 'tls.crt'), REKEY_TLS_KEY_FILE: join(dir, 'tls.key') } });
  try {
    assert.equal(await servedSerial(f.port, ca.certPem), parseCertificate(one.certPem).serial);
    const two = await leaf();
    writeFileSync(join(dir, 'tls.crt'), two.certPem);
    writeFileSync(join(dir, 'tls.key'), two.keyPem);
    process.emit('SIGHUP', 'SIGHUP');
    const want = parseCertificate(two.certPem).serial;
    for (let i = 0; i < 100 && (await servedSerial(f.port, ca.certPem)) !== want; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await servedSerial(f.port, ca.certPem), want);
    writeFileSync(join(dir, 'tls.key'), one.keyPem); // mismatched pair
    process.emit('SIGHUP', 'SIGHUP');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await servedSerial(f.port, ca.certPem), want);
    const st = await f.certs!.status();
    assert.equal(st.mode, 'files');
    assert.deepEqual(st.history.map((h) => h.reason), ['file-reload', 'file-reload']);
  } finally {
    await f.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
