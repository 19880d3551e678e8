// TLS on the proxy listener through the SecureContext hook (a throwaway self-signed certificate
// made with the openssl CLI; the rekey CA will provide real ones): SSLRequest is answered 'S' and
// the session runs over TLS; a requireTls target refuses plaintext clients; without a context the
// proxy answers 'N' and sslmode=require fails on the client side.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { validateTargets } from '../src/proxy/config.ts';
import { ProxyService } from '../src/proxy/service.ts';
import { startPostgres, type StartedPostgres } from './helpers/pg.ts';
import { createRole, run, TestSecretSource } from './helpers/proxy.ts';

let server: StartedPostgres;
let tlsProxy: ProxyService;
let plainProxy: ProxyService;
let password: string;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rekey-proxy-tls-'));
  const gen = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], {});
  assert.equal(gen.code, 0, gen.stderr);
  server = await startPostgres();
  password = await createRole(server, 'app');
  const secrets = new TestSecretSource();
  secrets.set('app', 'app', password);
  const common = { listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: server.port }, secretIds: ['app'] };
  const tls = createSecureContext({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) });
  tlsProxy = new ProxyService({ secrets, tls, targets: validateTargets([{ name: 'tls', ...common }, { name: 'required', ...common, requireTls: true }]) });
  plainProxy = new ProxyService({ secrets, targets: validateTargets([{ name: 'plain', ...common }]) });
  await tlsProxy.start();
  await plainProxy.start();
});

after(async () => {
  await tlsProxy?.close();
  await plainProxy?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const psql = (port: number, sslmode: string, sql: string) =>
  run('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql], { PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'app', PGPASSWORD: password, PGDATABASE: server.database, PGSSLMODE: sslmode });

test('psql sslmode=require: TLS to the proxy (psql reports the TLS session)', async () => {
  const r = await psql(tlsProxy.address('tls').port, 'require', '\\conninfo');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /SSL connection \(protocol: TLSv1\.3/);
  const q = await psql(tlsProxy.address('tls').port, 'require', 'SELECT 41 + 1');
  assert.equal(q.stdout.trim(), '42', q.stderr);
});

test('requireTls refuses a plaintext client; the same client over TLS gets in', async () => {
  const port = tlsProxy.address('required').port;
  const r = await psql(port, 'disable', 'SELECT 1');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /FATAL: {2}the rekey proxy requires TLS for this target \(connect with sslmode=require\)/);
  const ok = await psql(port, 'require', 'SELECT 2');
  assert.equal(ok.stdout.trim(), '2', ok.stderr);
});

test('without a SecureContext the proxy answers N: sslmode=require fails, prefer falls back to plaintext', async () => {
  const port = plainProxy.address('plain').port;
  const r = await psql(port, 'require', 'SELECT 1');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /server does not support SSL, but SSL was required/);
  const ok = await psql(port, 'prefer', 'SELECT 3');
  assert.equal(ok.stdout.trim(), '3', ok.stderr);
});
