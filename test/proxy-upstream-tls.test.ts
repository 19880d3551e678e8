// TLS from the proxy to the database (upstream.tls) against a real PostgreSQL with ssl=on and a
// certificate from a test CA (src/crypto/x509.ts) for 127.0.0.1 + localhost. pg_hba.conf allows the
// proxy's role over TLS only (hostssl scram-sha-256, hostnossl reject), so a login that succeeds
// was encrypted; pg_stat_ssl on the server says so too. Other roles make the server ask for md5 and
// cleartext passwords over TLS. A second PostgreSQL runs with ssl=off.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { randomBytes } from '../src/crypto/index.ts';
import { postgresScramVerifier } from '../src/crypto/scram.ts';
import { generateCa, issueCertificate } from '../src/crypto/x509.ts';
import { validateTargets, type ProxyTargetInput } from '../src/proxy/config.ts';
import { cancelRequest } from '../src/proxy/protocol.ts';
import { ProxyService } from '../src/proxy/service.ts';
import { enableSsl, startPostgres, type StartedPostgres } from './helpers/pg.ts';
import { createRole, TestSecretSource } from './helpers/proxy.ts';

let sslServer: StartedPostgres;
let plainServer: StartedPostgres;
let proxy: ProxyService;
let password: string;
let dir: string;
let pems: { ca: string; other: string };
const logged: string[] = [];


before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rekey-upstream-tls-'));
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const ca = await generateCa({ commonName: 'test database CA', notBefore, notAfter });
  const otherCa = await generateCa({ commonName: 'some other CA', notBefore, notAfter });
  const leaf = await issueCertificate({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, commonName: 'db', sans: ['127.0.0.1', 'localhost'], notBefore, notAfter, usage: 'server' });
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  writeFileSync(join(dir, 'other-ca.pem'), otherCa.certPem);
  writeFileSync(join(dir, 'rotating-ca.pem'), otherCa.certPem);
  pems = { ca: ca.certPem, other: otherCa.certPem };

  [sslServer, plainServer] = await Promise.all([startPostgres(), startPostgres()]);
  password = await createRole(sslServer, 'app');
  await createOtherRoles(sslServer);
  // app logs in with SCRAM; app_md5 (an md5-stored password) with md5; app_clear with a cleartext password
  await enableSsl(sslServer, leaf, { app: 'scram-sha-256', app_md5: 'md5', app_clear: 'password' });
  await createRole(plainServer, 'app'); // never reached: the proxy stops at the server's 'N'

  const secrets = new TestSecretSource();
  secrets.set('app', 'app', password);
  secrets.set('app_md5', 'app_md5', otherPasswords.app_md5);
  secrets.set('app_clear', 'app_clear', otherPasswords.app_clear);
  const up = { host: '127.0.0.1', port: sslServer.port };
  const t = (name: string, upstream: ProxyTargetInput['upstream'], mode: 'session' | 'transaction' = 'session'): ProxyTargetInput =>
    ({ name, listen: { host: '127.0.0.1', port: 0 }, upstream, secretIds: ['app', 'app_md5', 'app_clear'], connectTimeoutMs: 5000, mode });
  const caFile = join(dir, 'ca.pem');
  proxy = new ProxyService({
    secrets,
    log: (e) => logged.push(String(e)),
    targets: validateTargets([
      t('full', { ...up, tls: 'verify-full', caFile }),
      t('full-dns', { ...up, tls: 'verify-full', caFile, serverName: 'localhost' }),
      t('full-tx', { ...up, tls: 'verify-full', caFile }, 'transaction'),
      t('wrong-name', { ...up, tls: 'verify-full', caFile, serverName: 'db.example.com' }),
      t('ca-only', { ...up, tls: 'verify-ca', caFile, serverName: 'db.example.com' }),
      t('other-ca', { ...up, tls: 'verify-ca', caFile: join(dir, 'other-ca.pem') }),
      t('rotating-ca', { ...up, tls: 'verify-full', caFile: join(dir, 'rotating-ca.pem') }),
      t('require', { ...up, tls: 'require' }),
      t('plaintext', { ...up, tls: 'disable' }),
      t('no-ssl-server', { host: '127.0.0.1', port: plainServer.port, tls: 'require' }),
    ]),
  });
  await proxy.start();
});

after(async () => {
  await proxy?.close();
  await Promise.all([sslServer?.stop(), plainServer?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const otherPasswords = { app_md5: randomBytes(18).toString('base64url'), app_clear: randomBytes(18).toString('base64url') };

async function createOtherRoles(server: StartedPostgres): Promise<void> {
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    await c.query(`CREATE ROLE app_clear LOGIN PASSWORD '${postgresScramVerifier(otherPasswords.app_clear)}'`);
    await c.query("SET password_encryption = 'md5'"); // stored as md5, so the server really asks for md5
    await c.query(`CREATE ROLE app_md5 LOGIN PASSWORD '${otherPasswords.app_md5}'`);
    assert.match((await c.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'app_md5'")).rows[0].rolpassword, /^md5[0-9a-f]{32}$/);
  } finally {
    await c.end();
  }
}

const client = (target: string, user = 'app') =>
  new pg.Client({ host: '127.0.0.1', port: proxy.address(target).port, user, password: user === 'app' ? password : otherPasswords[user as keyof typeof otherPasswords], database: sslServer.database });

/** The upstream session's pg_stat_ssl row, seen through the proxy. */
async function sslOfSession(target: string, user = 'app'): Promise<{ ssl: boolean; version: string | null; user: string }> {
  const c = client(target, user);
  await c.connect();
  try {
    return (await c.query('SELECT ssl, version, current_user AS user FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0];
  } finally {
    await c.end();
  }
}

async function loginError(target: string): Promise<Error & { code?: string; severity?: string }> {
  const c = client(target);
  c.on('error', () => {});
  try {
    await c.connect();
  } catch (e) {
    return e as Error;
  } finally {
    await c.end().catch(() => {});
  }
  throw new Error(`login through ${target} succeeded`);
}

test('the server refuses the role in plaintext (so the logins below that succeed were encrypted)', async () => {
  const direct = new pg.Client({ host: '127.0.0.1', port: sslServer.port, user: 'app', password, database: sslServer.database, ssl: false });
  await assert.rejects(direct.connect(), /pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "app", database "rekey_test", no encryption/);
  const e = await loginError('plaintext');
  assert.equal(e.code, '08006');
  assert.match(e.message, /^cannot log in to the database: pg_hba\.conf rejects connection for host "127\.0\.0\.1", user "app", database "rekey_test", no encryption$/);
});

test('verify-full with the right CA and the dialed IP (IP SAN): pg_stat_ssl shows the proxy\'s session encrypted', async () => {
  const s = await sslOfSession('full');
  assert.equal(s.ssl, true);
  assert.match(s.version ?? '', /^TLSv1\.[23]$/);
  assert.deepEqual(proxy.status().filter((t) => ['full', 'ca-only', 'require', 'plaintext'].includes(t.name)).map((t) => t.upstreamTls), ['verify-full', 'verify-ca', 'require', 'disable']);
});

test('verify-full with serverName localhost (DNS SAN), session and transaction mode', async () => {
  assert.equal((await sslOfSession('full-dns')).ssl, true);
  assert.equal((await sslOfSession('full-tx')).ssl, true);
});

test('verify-full with a server name the certificate does not carry: FATAL to the client, the proxy lives on', async () => {
  const e = await loginError('wrong-name');
  assert.equal(e.code, '08001');
  assert.equal(e.severity, 'FATAL');
  assert.match(e.message, /^cannot log in to the database: TLS handshake with 127\.0\.0\.1:\d+ failed \(upstream\.tls verify-full, server name db\.example\.com\): Hostname\/IP does not match certificate's altnames: Host: db\.example\.com\. is not in the cert's altnames: IP Address:127\.0\.0\.1, DNS:localhost$/);
  assert.ok(!e.message.includes(password));
  assert.equal((await sslOfSession('full')).ssl, true); // still serving
});

test('md5 and cleartext upstream logins over TLS, as the server asks', async () => {
  assert.deepEqual(await sslOfSession('full', 'app_md5'), { ssl: true, version: (await sslOfSession('full')).version, user: 'app_md5' });
  assert.deepEqual(await sslOfSession('full', 'app_clear'), { ssl: true, version: (await sslOfSession('full')).version, user: 'app_clear' });
});

test('verify-ca checks the chain, not the name: the same wrong server name is accepted', async () => {
  assert.equal((await sslOfSession('ca-only')).ssl, true);
});

test('verify-ca with a CA that did not issue the server certificate fails', async () => {
  const e = await loginError('other-ca');
  assert.equal(e.code, '08001');
  assert.match(e.message, /^cannot log in to the database: TLS handshake with 127\.0\.0\.1:\d+ failed \(upstream\.tls verify-ca\): unable to (verify the first certificate|get local issuer certificate)$/);
});

/**
 * Opens clients one at a time, holding them, until one needed a new server login (the others got
 * idle servers); returns that login's error, if any. Deterministic whatever the pool holds idle.
 */
async function holdUntilNewLogin(target: string): Promise<{ error: (Error & { code?: string }) | undefined }> {
  const logins = () => proxy.status().find((t) => t.name === target)!.pools[0]!.serverLogins;
  const held: pg.Client[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      const before = logins();
      const c = client(target);
      c.on('error', () => {});
      held.push(c);
      const error = await c.connect().then(() => undefined, (x: Error & { code?: string }) => x);
      if (error || logins() > before) return { error };
    }
    throw new Error('no new server login after 10 clients');
  } finally {
    await Promise.all(held.map((c) => c.end().catch(() => {})));
  }
}

test('a changed caFile is read again at the next server login; a broken one keeps the last good bundle', async () => {
  const file = join(dir, 'rotating-ca.pem');
  assert.match((await loginError('rotating-ca')).message, /failed \(upstream\.tls verify-full, server name 127\.0\.0\.1\): unable to (verify the first certificate|get local issuer certificate)$/);
  writeFileSync(file, pems.other + pems.ca); // the operator adds the database's new CA
  assert.equal((await sslOfSession('rotating-ca')).ssl, true);
  writeFileSync(file, 'truncated -----BEGIN CERT');
  assert.equal((await sslOfSession('full')).ssl, true);
  // session mode: clients reuse idle servers (verified before); keep clients open until one of them
  // needed a new server login: it uses the bundle read before the broken write
  const n = await holdUntilNewLogin('rotating-ca');
  assert.equal(n.error, undefined);
  assert.deepEqual(logged, [`Error: proxy target rotating-ca: upstream.caFile ${file} holds no PEM certificate; keeping the CA bundle read before`]);
  writeFileSync(file, pems.other); // back to a CA that did not issue the server's certificate
  const m = await holdUntilNewLogin('rotating-ca');
  assert.equal(m.error?.code, '08001');
});

test('require encrypts without checking the certificate (no CA configured)', async () => {
  assert.equal((await sslOfSession('require')).ssl, true);
});

test('require against a server with ssl=off: it answers N and the proxy never logs in in plaintext', async () => {
  const e = await loginError('no-ssl-server');
  assert.equal(e.code, '08001');
  assert.match(e.message, /^cannot log in to the database: the server at 127\.0\.0\.1:\d+ does not accept SSL \(it answered N to SSLRequest\); upstream\.tls is require, so the proxy does not log in without it$/);
});

test('CancelRequest reaches a TLS upstream (sent over TLS)', async () => {
  const c = client('full');
  await c.connect();
  try {
    const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
    const q = c.query('SELECT pg_sleep(30)');
    await new Promise((r) => setTimeout(r, 300));
    await new Promise<void>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: proxy.address('full').port }, () => s.end(cancelRequest(processID, secretKey)));
      s.on('close', () => resolve());
      s.on('error', reject);
    });
    await assert.rejects(q, (e: Error & { code?: string }) => e.code === '57014' && /canceling statement due to user request/.test(e.message));
  } finally {
    await c.end();
  }
});

test('a caFile that is not a certificate bundle stops the proxy at start-up', () => {
  const bad = join(dir, 'bad.pem');
  writeFileSync(bad, 'not a certificate');
  const targets = validateTargets([{ name: 'x', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: 5432, tls: 'verify-full', caFile: bad }, secretIds: ['app'] }]);
  assert.throws(() => new ProxyService({ secrets: new TestSecretSource(), targets }), { name: 'ConfigurationError', message: `proxy target x: upstream.caFile ${bad} holds no PEM certificate` });
  const missing = validateTargets([{ name: 'y', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: 5432, tls: 'verify-ca', caFile: join(dir, 'missing.pem') }, secretIds: ['app'] }]);
  assert.throws(() => new ProxyService({ secrets: new TestSecretSource(), targets: missing }), { name: 'ConfigurationError', message: `proxy target y: cannot read upstream.caFile ${join(dir, 'missing.pem')}: ENOENT` });
});
