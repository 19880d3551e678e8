// A running mariadbd whose key source goes away (docs/MARIADB.md, "While MariaDB runs"):
// - rekey unreachable: the plugin serves the keys it has cached; queries and page flushes go on;
// - token revoked: the plugin gets 403 once its cached latest version expires, InnoDB cannot encrypt
//   a page and mariadbd aborts (InnoDB assertion) at the next page flush; with a new token it
//   starts again and crash recovery keeps every committed row.
// Skips only where mariadbd or the plugin is missing, never under CI=true.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { until } from './helpers/db-node.ts';
import { freePort, installDataDir, mariaDbMissing, startMariaDb, type MariaDb } from './helpers/mariadb-server.ts';
import { adminCall, type AdminConnection } from '../src/cli/admin-client.ts';
import { mariaDbFlags } from '../src/keyserve/mariadb-config.ts';

const missing = mariaDbMissing();
if (missing && process.env['CI'] === 'true') throw new Error(`${missing}: CI=true does not skip the MariaDB tests (.ci/run installs the packages)`);
const skip = missing || false;

let s: TestServer;
let conn: AdminConnection;
let dir: string;
let db: MariaDb | undefined;
let token: string;
let accessor: string;
let gatePort: number;

/** A TCP forwarder in front of rekey: closing it is "rekey down" for MariaDB only. */
let gate: Server | null = null;
const sockets = new Set<Socket>();
async function gateUp(): Promise<void> {
  const target = new URL(s.url);
  gate = createServer((c) => {
    const u = connect(Number(target.port), target.hostname);
    sockets.add(c).add(u);
    c.pipe(u).pipe(c);
    const drop = () => { c.destroy(); u.destroy(); sockets.delete(c); sockets.delete(u); };
    c.on('error', drop).on('close', drop);
    u.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => gate!.listen(gatePort, '127.0.0.1', r));
}
async function gateDown(): Promise<void> {
  for (const x of sockets) x.destroy();
  await new Promise<void>((r) => (gate ? gate.close(() => r()) : r()));
  gate = null;
}

const flags = (tok: string) => [
  ...mariaDbFlags({ endpoint: `http://127.0.0.1:${gatePort}`, keyring: 'run', token: tok, cacheTimeoutMs: 1000, cacheVersionTimeoutMs: 500, encryptionThreads: 2 }),
  '--hashicorp-key-management-timeout=2', '--hashicorp-key-management-max-retries=0',
];

async function load(c: Awaited<ReturnType<MariaDb['connect']>>, ms: number): Promise<{ ok: number; failed: number; errors: string[] }> {
  const r = { ok: 0, failed: 0, errors: [] as string[] };
  const end = Date.now() + ms;
  let lastFlush = Date.now();
  while (Date.now() < end) {
    try {
      await c.query("INSERT INTO app.t (v) VALUES (REPEAT('x', 150))");
      await c.query('SELECT COUNT(*) FROM app.t');
      if (Date.now() - lastFlush > 1000) {
        // pages written out: each needs the key's latest version from the plugin
        await c.query('FLUSH TABLES app.t FOR EXPORT');
        await c.query('UNLOCK TABLES');
        lastFlush = Date.now();
      }
      r.ok++;
    } catch (e) {
      r.failed++;
      if (r.errors.length < 3) r.errors.push(String(e));
      if (r.failed > 20) break;
    }
  }
  return r;
}

before(async () => {
  if (skip) return;
  s = await startTestServer();
  conn = { endpoint: new URL(s.url), region: 'us-east-1', credentials: TEST_CREDS };
  const keyId = (await s.kmsClient().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  await adminCall(conn, { method: 'POST', path: '/v1/keyserve/keyrings', body: { name: 'run', kmsKeyId: keyId } });
  ({ token, accessor } = await adminCall<{ token: string; accessor: string }>(conn, { method: 'POST', path: '/v1/keyserve/keyrings/run/tokens', body: {} }));
  gatePort = await freePort();
  await gateUp();
  dir = mkdtempSync(join(tmpdir(), 'rekey-mariadb-run-'));
  await installDataDir(dir, flags(token));
  db = await startMariaDb(dir, flags(token));
  const c = await db.connect();
  await c.query('CREATE DATABASE app');
  await c.query('CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(200) NOT NULL) ENGINE=InnoDB');
  await c.end();
});

after(async () => {
  await db?.stop();
  await gateDown();
  await s?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('rekey unreachable while MariaDB runs: the plugin serves its cached keys; inserts, selects and page flushes go on', { skip }, async () => {
  await gateDown();
  const c = await db!.connect();
  try {
    const r = await load(c, 5_000);
    assert.equal(r.failed, 0, r.errors.join('; '));
    assert.ok(r.ok > 50);
  } finally {
    await c.end();
    await gateUp();
  }
});

test('token revoked while MariaDB runs: mariadbd aborts at a page flush once its cached version expires; a new token restarts it with every committed row', { skip }, async () => {
  const c = await db!.connect();
  const [[before]] = await c.query('SELECT COUNT(*) AS n FROM app.t') as unknown as [[{ n: number }]];
  await adminCall(conn, { method: 'DELETE', path: `/v1/keyserve/keyrings/run/tokens/${accessor}` });
  let committed = Number(before.n);
  let exited = false;
  void db!.exited.then(() => { exited = true; });
  await until('mariadbd to abort', async () => {
    const r = await load(c, 1_000).catch(() => ({ ok: 0, failed: 1, errors: [] }));
    committed += r.ok;
    return exited;
  }, 60_000, 10);
  await c.end().catch(() => {});
  const log = db!.log();
  assert.match(log, /hashicorp: Hashicorp server error: 403, response: \{"errors":\["permission denied"\]\}/);
  assert.match(log, /Failing assertion: key_version != ENCRYPTION_KEY_VERSION_INVALID/);
  ({ token, accessor } = await adminCall<{ token: string; accessor: string }>(conn, { method: 'POST', path: '/v1/keyserve/keyrings/run/tokens', body: {} }));
  db = await startMariaDb(dir, flags(token));
  const c2 = await db.connect();
  const [[after]] = await c2.query('SELECT COUNT(*) AS n FROM app.t') as unknown as [[{ n: number }]];
  await c2.end();
  assert.ok(Number(after.n) >= committed, `every committed row is back (${after.n} >= ${committed})`);
});
