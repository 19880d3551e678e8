// A rotation after a proxy cutover (issue 19 item 4; docs/PROXY.md, "Rotation after a cutover"):
// the secret names server A, the proxy target is cut over to server B (a copy with the same role
// and password, as after a migration), then RotateSecret runs the real postgresql-single-user
// strategy. The password must change on B, where the proxy logs in, not on A; the new version names
// B. Real rekey server, two real PostgreSQL servers (scram-sha-256).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createDbSecret, readSecret, rotateViaApi } from './helpers/db-rotation-api.ts';
import { startPostgres, type StartedPostgres } from './helpers/pg.ts';
import { createRole, setRolePassword } from './helpers/proxy.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const SECRET = `cutover-rotation/app-${Date.now()}`;
const ALT = `cutover-rotation/alt-${Date.now()}`;

let a: StartedPostgres;
let b: StartedPostgres;
let s: TestServer;
let dir: string;
let password: string;
let altPassword: string;

before(async () => {
  [a, b] = await Promise.all([startPostgres(), startPostgres()]);
  password = await createRole(a, 'app');
  await createRole(b, 'app');
  await setRolePassword(b, 'app', password);
  altPassword = await createRole(a, 'alt');
  await createRole(b, 'alt');
  await setRolePassword(b, 'alt', altPassword);
  // the master secret names A; after the cutover its user must work on B too (a copy of A)
  await setRolePassword(b, b.user, a.password);
  dir = mkdtempSync(join(tmpdir(), 'rekey-cutover-rotation-'));
  writeFileSync(join(dir, 'rekey.json'), JSON.stringify({
    proxy: { targets: [{ name: 'app', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: a.port }, secretIds: [SECRET] },
      { name: 'alt', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: a.port }, secretIds: [ALT] }] },
  }));
  s = await startTestServer({ env: { REKEY_CONFIG: join(dir, 'rekey.json'), REKEY_AUDIT_STDOUT: 'false' } });
  const sm = s.secretsClient();
  await createDbSecret(sm, SECRET, { engine: 'postgres', host: '127.0.0.1', port: a.port, username: 'app', password, dbname: a.database });
  const master = await createDbSecret(sm, `${ALT}-master`, { engine: 'postgres', host: '127.0.0.1', port: a.port, username: a.user, password: a.password, dbname: a.database });
  await createDbSecret(sm, ALT, { engine: 'postgres', host: '127.0.0.1', port: a.port, username: 'alt', password: altPassword, dbname: a.database, masterarn: master });
});

after(async () => {
  await s?.cleanup();
  await Promise.all([a?.stop(), b?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `SHOW port` on a session logged in with `pw` (through the proxy, or straight to a server), or the refusal. */
async function portVia(port: number, pw: string, user = 'app'): Promise<string> {
  const c = new pg.Client({ host: '127.0.0.1', port, user, password: pw, database: a.database });
  c.on('error', () => {});
  try {
    await c.connect();
    return String((await c.query('SHOW port')).rows[0].port);
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  } finally {
    await c.end().catch(() => {});
  }
}

test('cutover to another server, then rotate: the password changes on the new server only, and the secret names it', async () => {
  const sm = s.secretsClient();
  const proxyPort = s.proxy!.address('app').port;
  assert.equal(await portVia(proxyPort, password), String(a.port));
  await s.proxy!.cutover('app', { host: '127.0.0.1', port: b.port });
  assert.equal(await portVia(proxyPort, password), String(b.port));
  await rotateViaApi(sm, s.jobs, SECRET, 'postgresql-single-user');
  const now = await readSecret(sm, SECRET);
  assert.notEqual(now.password, password);
  assert.deepEqual([now.host, Number(now.port), now.username], ['127.0.0.1', b.port, 'app'], 'the new version names the server the proxy logs in to');
  // through the proxy and straight to B with the new password
  assert.equal(await portVia(proxyPort, now.password), String(b.port));
  assert.equal(await portVia(b.port, now.password), String(b.port));
  // B no longer takes the old password; A was not touched
  assert.match(await portVia(b.port, password), /refused: password authentication failed for user "app"/);
  assert.equal(await portVia(a.port, password), String(a.port));
  assert.match(await portVia(a.port, now.password), /refused: password authentication failed for user "app"/);
});

test('alternating users after a cutover: the master logs in to the new server, the other login is created there, not on A', async () => {
  const sm = s.secretsClient();
  const proxyPort = s.proxy!.address('alt').port;
  await s.proxy!.cutover('alt', { host: '127.0.0.1', port: b.port });
  await rotateViaApi(sm, s.jobs, ALT, 'postgresql-alternating-users');
  const now = await readSecret(sm, ALT);
  assert.deepEqual([now.username, Number(now.port)], ['alt_clone', b.port]);
  assert.equal(await portVia(proxyPort, now.password, 'alt_clone'), String(b.port));
  assert.equal(await portVia(b.port, now.password, 'alt_clone'), String(b.port));
  assert.match(await portVia(a.port, now.password, 'alt_clone'), /refused: password authentication failed for user "alt_clone"/);
  assert.equal(await portVia(a.port, altPassword, 'alt'), String(a.port));
});
