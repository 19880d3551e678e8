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

let a: StartedPostgres;
let b: StartedPostgres;
let s: TestServer;
let dir: string;
let password: string;

before(async () => {
  [a, b] = await Promise.all([startPostgres(), startPostgres()]);
  password = await createRole(a, 'app');
  await createRole(b, 'app');
  await setRolePassword(b, 'app', password);
  dir = mkdtempSync(join(tmpdir(), 'rekey-cutover-rotation-'));
  writeFileSync(join(dir, 'rekey.json'), JSON.stringify({
    proxy: { targets: [{ name: 'app', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: a.port }, secretIds: [SECRET] }] },
  }));
  s = await startTestServer({ env: { REKEY_CONFIG: join(dir, 'rekey.json'), REKEY_AUDIT_STDOUT: 'false' } });
  await createDbSecret(s.secretsClient(), SECRET, { engine: 'postgres', host: '127.0.0.1', port: a.port, username: 'app', password, dbname: a.database });
});

after(async () => {
  await s?.cleanup();
  await Promise.all([a?.stop(), b?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `SHOW port` on a session logged in with `pw` (through the proxy, or straight to a server), or the refusal. */
async function portVia(port: number, pw: string): Promise<string> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'app', password: pw, database: a.database });
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
