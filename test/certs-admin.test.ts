// `rekey certs status|rotate|issue`, the /v1/certs admin API, the audit events of issuance and
// rotation, and mutual TLS with client certificates mapped to principals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent as HttpsAgent } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient, CreateKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { rekeyCli } from './helpers/rekey-cli.ts';
import { parseCertificate } from '../src/crypto/x509.ts';

let s: TestServer;
before(async () => { s = await startTestServer({ env: { REKEY_TLS: 'generated' } }); });
after(async () => { await s.cleanup(); });

const rekey = rekeyCli;

test('rekey certs status | rotate | issue over HTTPS with --ca-bundle; audit events for issuance and rotation', async () => {
  const conn = ['--endpoint', s.url, '--ca-bundle', s.caBundlePath!];
  const before = parseCertificate(s.certs!.serverContext().cert);
  const st = await rekey(['certs', 'status', ...conn]);
  assert.equal(st.status, 0, st.err);
  assert.match(st.out, /mode: generated/);
  assert.match(st.out, new RegExp(`serial:\\s+${before.serial}`));
  assert.match(st.out, /SANs:\s+localhost, 127\.0\.0\.1, 0:0:0:0:0:0:0:1/);
  assert.match(st.out, /rotates at:/);
  assert.match(st.out, /certificate authority/);

  const rot = await rekey(['certs', 'rotate', ...conn]);
  assert.equal(rot.status, 0, rot.err);
  const after = parseCertificate(s.certs!.serverContext().cert);
  assert.notEqual(after.serial, before.serial);
  assert.equal(rot.out, `rotated: serial ${after.serial}, valid until ${after.notAfter.toISOString()}\n`);

  const json = JSON.parse((await rekey(['certs', 'status', '--json', ...conn])).out);
  assert.equal(json.server.serial, after.serial);
  assert.deepEqual(json.history.map((h: { reason: string }) => h.reason), ['manual', 'initial']);
  assert.equal(json.history[0].replaced, before.serial);
  assert.doesNotMatch(JSON.stringify(json), /PRIVATE KEY/);

  const dir = mkdtempSync(join(tmpdir(), 'rekey-issue-'));
  try {
    const iss = await rekey(['certs', 'issue', '--common-name', 'proxy', '--san', 'db.internal', '10.0.0.5', '--out', join(dir, 'proxy'), ...conn]);
    assert.equal(iss.status, 0, iss.err);
    const info = parseCertificate(readFileSync(join(dir, 'proxy.crt')));
    assert.deepEqual([...info.dnsNames, ...info.ipAddresses], ['db.internal', '10.0.0.5']);
    assert.equal(statSync(join(dir, 'proxy.key')).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, 'proxy.ca.pem'), 'utf8'), s.ca);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // without the CA bundle the CLI refuses the certificate, and says what to do
  const untrusted = await rekey(['certs', 'status', '--endpoint', s.url]);
  assert.equal(untrusted.status, 2);
  assert.match(untrusted.err, /ConfigurationError: cannot reach the rekey server .*--ca-bundle/);

  // a principal without rekey:RotateCertificate is refused, and the refusal is audited
  const u = await s.iam.principals.createUser('no-certs');
  const k = await s.iam.accessKeys.create(u);
  const denied = await rekey(['certs', 'rotate', ...conn], { AWS_ACCESS_KEY_ID: k.accessKeyId, AWS_SECRET_ACCESS_KEY: k.secretAccessKey });
  assert.equal(denied.status, 2);
  assert.match(denied.err, /AccessDeniedException: .*rekey:RotateCertificate/);

  await s.audit.settled(); // group commit
  const names = async (eventName: string) => (await s.audit.lookup({ eventName, maxResults: 100 })).events.map((e) => e.event);
  const ca = await names('CreateCertificateAuthority');
  assert.equal(ca.length, 1);
  assert.equal(ca[0]!.eventSource, 'rekey.certs');
  const issued = (await names('IssueCertificate')).filter((e) => e.eventSource === 'rekey.certs');
  assert.deepEqual(issued.map((e) => (e.additionalEventData as Record<string, string>).reason).sort(), ['initial', 'manual', 'requested']);
  // the admin call that issued the proxy certificate is recorded with its names, not its key
  const issueCall = (await names('IssueCertificate')).filter((e) => e.eventSource === 'rekey.admin');
  assert.equal(issueCall.length, 1);
  assert.deepEqual(issueCall[0]!.requestParameters, { commonName: 'proxy', usage: 'server', sans: ['db.internal', '10.0.0.5'] }); // members as sent (none sent: none recorded)
  const rotated = await names('RotateCertificate');
  const svc = rotated.filter((e) => e.eventSource === 'rekey.certs');
  assert.equal(svc.length, 1);
  assert.equal((svc[0]!.additionalEventData as Record<string, string>).replaced, before.serial);
  const admin = rotated.filter((e) => e.eventSource === 'rekey.admin');
  assert.deepEqual(admin.map((e) => e.errorCode ?? 'ok').sort(), ['AccessDeniedException', 'ok']);
  assert.doesNotMatch(JSON.stringify([...ca, ...issued, ...rotated]), /PRIVATE KEY/);
});

test('/v1/certs on a plain-HTTP (dev) server: a clear ValidationException', async () => {
  const http = await startTestServer();
  try {
    const r = await rekey(['certs', 'status', '--endpoint', http.url]);
    assert.equal(r.status, 2);
    assert.match(r.err, /ValidationException: TLS is off on this server/);
  } finally {
    await http.cleanup();
  }
});

test('mutual TLS: a client certificate naming a principal is accepted for that principal only; required mode refuses connections without one', async () => {
  const m = await startTestServer({ env: { REKEY_TLS: 'generated', REKEY_TLS_CLIENT_AUTH: 'optional' } });
  try {
    const u = await m.iam.principals.createUser('alice');
    await m.iam.principals.putPolicy('user', 'alice', 'all', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }));
    const ak = await m.iam.accessKeys.create(u);
    const alice = { accessKeyId: ak.accessKeyId, secretAccessKey: ak.secretAccessKey };
    const cert = await m.certs!.issue({ commonName: 'alice', uris: [u.arn], usage: 'client' });
    const client = (creds: typeof alice, withCert: boolean) => new KMSClient({
      endpoint: m.url, region: 'us-east-1', credentials: creds, maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpsAgent: new HttpsAgent({ ca: m.ca, ...(withCert ? { cert: cert.certPem, key: cert.keyPem } : {}) }) }),
    });
    await client(alice, true).send(new CreateKeyCommand({}));
    await assert.rejects(client(TEST_CREDS, true).send(new ListKeysCommand({})), {
      name: 'AccessDeniedException', message: `The client certificate is issued to ${u.arn}, but the request is signed by arn:aws:iam::111122223333:user/rekey-admin.`,
    });
    await client(TEST_CREDS, false).send(new ListKeysCommand({})); // optional: no certificate is fine
  } finally {
    await m.cleanup();
  }
  const r = await startTestServer({ env: { REKEY_TLS: 'generated', REKEY_TLS_CLIENT_AUTH: 'required' } });
  try {
    await assert.rejects(r.kmsClient().send(new ListKeysCommand({})), (e: Error & { code?: string }) => {
      assert.match(`${e.code} ${e.message}`, /ECONNRESET|certificate required|socket hang up|EPIPE/i);
      return true;
    });
    const cert = await r.certs!.issue({ commonName: 'admin', uris: ['arn:aws:iam::111122223333:user/rekey-admin'], usage: 'client' });
    await r.kmsClient(TEST_CREDS, { requestHandler: new NodeHttpHandler({ httpsAgent: new HttpsAgent({ ca: r.ca, cert: cert.certPem, key: cert.keyPem }) }) }).send(new ListKeysCommand({}));
  } finally {
    await r.cleanup();
  }
});
