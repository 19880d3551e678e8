// A real mariadbd (its own data directory, port and socket; never the machine's shared server) with
// the hashicorp_key_management plugin reading its keys from a test rekey server (docs/MARIADB.md):
// - a canary in encrypted InnoDB and Aria tables is readable through SQL and absent, in plaintext,
//   from every file of the data directory (tablespaces, redo log, binlog), while a CSV table (never
//   encrypted) shows the grep does see table data;
// - RotateKeyOnDemand on the KMS key -> key version 2 -> InnoDB re-encrypts every tablespace online
//   while a client running inserts and selects sees 0 failed queries;
// - at MariaDB start: a revoked token, a disabled KMS key and rekey down each stop the start, with the
//   reason in MariaDB's error log; enabled again / a valid token, it starts and the data is there.
// Skips only where mariadbd or the plugin is missing, never under CI=true (.ci/run installs them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, DisableKeyCommand, EnableKeyCommand, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { grepFiles, until } from './helpers/db-node.ts';
import { installDataDir, mariaDbMissing, startMariaDb, type MariaDb } from './helpers/mariadb-server.ts';
import { adminCall, type AdminConnection } from '../src/cli/admin-client.ts';
import { mariaDbFlags } from '../src/keyserve/mariadb-config.ts';

const missing = mariaDbMissing();
if (missing && process.env['CI'] === 'true') throw new Error(`${missing}: CI=true does not skip the MariaDB tests (.ci/run installs the packages)`);
const skip = missing || false;

const CANARY = 'rekey-canary-' + 'Zq7'.repeat(8);
const ARIA_CANARY = 'rekey-aria-canary-' + 'Wp5'.repeat(8);
const CONTROL = 'rekey-control-' + 'Kx3'.repeat(8);

let s: TestServer;
let conn: AdminConnection;
let keyId: string;
let dir: string;
let db: MariaDb | undefined;
let token: string;
let accessor: string;

const flags = (tok: string, url = s.url) => [
  ...mariaDbFlags({ endpoint: url, keyring: 'shop', token: tok, cacheTimeoutMs: 1000, cacheVersionTimeoutMs: 500, encryptionThreads: 2 }),
  // one retry on a connection failure, short timeout: a start without rekey fails fast
  '--hashicorp-key-management-timeout=2', '--hashicorp-key-management-max-retries=0',
];

before(async () => {
  if (skip) return;
  s = await startTestServer();
  conn = { endpoint: new URL(s.url), region: 'us-east-1', credentials: TEST_CREDS };
  keyId = (await s.kmsClient().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  await adminCall(conn, { method: 'POST', path: '/v1/keyserve/keyrings', body: { name: 'shop', kmsKeyId: keyId } });
  ({ token, accessor } = await adminCall<{ token: string; accessor: string }>(conn, { method: 'POST', path: '/v1/keyserve/keyrings/shop/tokens', body: {} }));
  dir = mkdtempSync(join(tmpdir(), 'rekey-mariadb-'));
  await installDataDir(dir, flags(token));
  db = await startMariaDb(dir, flags(token));
});

after(async () => {
  await db?.stop();
  await s?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a canary in encrypted InnoDB and Aria tables is readable through SQL and nowhere in plaintext on disk (tablespaces, redo log, binlog)', { skip }, async () => {
  const c = await db!.connect();
  try {
    await c.query('CREATE DATABASE app');
    await c.query('CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(200) NOT NULL) ENGINE=InnoDB');
    await c.query('CREATE TABLE app.a (v VARCHAR(200) NOT NULL) ENGINE=Aria');
    await c.query('CREATE TABLE app.plain (v VARCHAR(200) NOT NULL) ENGINE=CSV');
    await c.query('INSERT INTO app.t (v) VALUES (?)', [CANARY]);
    await c.query('INSERT INTO app.a (v) VALUES (?)', [ARIA_CANARY]);
    await c.query('INSERT INTO app.plain (v) VALUES (?)', [CONTROL]);
    const [rows] = await c.query('SELECT v FROM app.t') as [{ v: string }[], unknown];
    assert.equal(rows[0]!.v, CANARY);
    const [enc] = await c.query("SELECT NAME, ENCRYPTION_SCHEME FROM information_schema.INNODB_TABLESPACES_ENCRYPTION WHERE NAME = 'app/t'") as [{ ENCRYPTION_SCHEME: number }[], unknown];
    assert.equal(enc[0]?.ENCRYPTION_SCHEME, 1, 'app/t is encrypted');
    // pages, Aria files and the binlog written out
    await c.query('FLUSH TABLES app.t FOR EXPORT');
    await c.query('UNLOCK TABLES');
    await c.query('FLUSH TABLES');
    await c.query('FLUSH BINARY LOGS');
  } finally {
    await c.end();
  }
  const skipNone = () => false;
  assert.deepEqual(grepFiles(db!.dataDir, Buffer.from(CANARY), skipNone), [], 'the InnoDB canary is nowhere in plaintext');
  // Aria: the table files are encrypted, its transaction log (aria_log.N) is not (MariaDB encrypts
  // Aria data and index pages only; docs/MARIADB.md "What stays in plaintext")
  const aria = grepFiles(db!.dataDir, Buffer.from(ARIA_CANARY), skipNone);
  assert.ok(aria.every((p) => /aria_log\.\d+$/.test(p)), `the Aria canary only in the Aria log: ${aria.join(', ')}`);
  const control = grepFiles(db!.dataDir, Buffer.from(CONTROL), skipNone);
  assert.ok(control.some((p) => p.endsWith('plain.CSV')), `the grep sees unencrypted table data (${control.join(', ')})`);
  assert.ok(!control.some((p) => /binlog\.\d+$|ib_logfile0$/.test(p)), 'the redo log and binlog are encrypted');
});

test('two RotateKeyOnDemand -> key version 3 -> every tablespace re-encrypted online; a client running inserts and selects sees 0 failed queries', { skip }, async (t) => {
  // InnoDB re-encrypts a page when key_version + innodb_encryption_rotate_key_age < latest version
  // (fil_crypt_needs_rotation); at the smallest age, 1, pages move on the second rotation after theirs.
  const c = await db!.connect();
  const counts = { ok: 0, failed: 0, errors: [] as string[] };
  let stop = false;
  const loop = (async () => {
    const w = await db!.connect();
    try {
      for (let i = 0; !stop; i++) {
        try {
          await w.query('INSERT INTO app.t (v) VALUES (?)', [`row-${i}`]);
          await w.query('SELECT v FROM app.t WHERE id = 1');
          counts.ok++;
        } catch (e) {
          counts.failed++;
          if (counts.errors.length < 5) counts.errors.push(String(e));
        }
      }
    } finally {
      await w.end();
    }
  })();
  type Row = { NAME: string; CURRENT_KEY_VERSION: number; MIN_KEY_VERSION: number; ROTATING_OR_FLUSHING: number };
  const spaces = async () => (await c.query('SELECT NAME, CURRENT_KEY_VERSION, MIN_KEY_VERSION, ROTATING_OR_FLUSHING FROM information_schema.INNODB_TABLESPACES_ENCRYPTION'))[0] as Row[];
  const rotate = async (to: number) => {
    await s.kmsClient().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    s.kms.store.invalidateKey(keyId);
    // the plugin asks for the latest version once its cached one is older than cache-version-timeout
    // (measured in mariadbd's CPU time: the load makes it pass)
    await until(`InnoDB to see key version ${to}`, async () => (await spaces()).every((x) => x.CURRENT_KEY_VERSION === to), 30_000, 100);
  };
  try {
    await until('the load loop to run', async () => counts.ok > 50, 30_000);
    const before = counts.ok;
    const t0 = Date.now();
    await until('a second of load', async () => Date.now() - t0 >= 1000, 5_000);
    const ratePre = (counts.ok - before) / ((Date.now() - t0) / 1000);
    assert.ok((await spaces()).every((x) => x.MIN_KEY_VERSION === 1), 'every tablespace starts at key version 1');

    const t1 = Date.now();
    const atRotation = counts.ok;
    await rotate(2);
    await rotate(3);
    const rows = await until('every tablespace re-encrypted to key version 3', async () => {
      const r = await spaces();
      return r.length > 0 && r.every((x) => x.MIN_KEY_VERSION === 3 && x.ROTATING_OR_FLUSHING === 0) ? r : false;
    }, 60_000, 100);
    const secs = (Date.now() - t1) / 1000;
    const rateDuring = (counts.ok - atRotation) / secs;
    t.diagnostic(`${rows.length} tablespaces (${rows.map((r) => r.NAME).join(', ')}) re-encrypted to key version 3 in ${secs.toFixed(1)} s after the first rotation; load ${ratePre.toFixed(0)} tx/s before, ${rateDuring.toFixed(0)} tx/s during (ratio ${(rateDuring / ratePre).toFixed(2)})`);
    const ring = await adminCall<{ keys: { keyId: number; latestVersion: number }[] }>(conn, { method: 'GET', path: '/v1/keyserve/keyrings/shop' });
    assert.deepEqual(ring.keys.map((k) => k.latestVersion), [3, 3], 'every key of the keyring got the new versions');
  } finally {
    stop = true;
    await loop;
    await c.end();
  }
  assert.equal(counts.failed, 0, `failed queries: ${counts.errors.join('; ')}`);
  assert.ok(counts.ok > 100);
});

test('at MariaDB start: a revoked token stops the start with "permission denied" in the error log; a new token starts it', { skip }, async () => {
  await db!.stop();
  await adminCall(conn, { method: 'DELETE', path: `/v1/keyserve/keyrings/shop/tokens/${accessor}` });
  const err = await startMariaDb(dir, flags(token), { waitMs: 30_000 }).then(() => null, (e: Error & { log?: string }) => e);
  assert.ok(err, 'mariadbd does not start with a revoked token');
  assert.match(err.message, /hashicorp: .*403.*permission denied/s);
  ({ token, accessor } = await adminCall<{ token: string; accessor: string }>(conn, { method: 'POST', path: '/v1/keyserve/keyrings/shop/tokens', body: {} }));
  db = await startMariaDb(dir, flags(token));
  const c = await db.connect();
  const [rows] = await c.query('SELECT v FROM app.t WHERE id = 1') as [{ v: string }[], unknown];
  await c.end();
  assert.equal(rows[0]!.v, CANARY);
});

test('at MariaDB start: a disabled KMS key stops the start (DisabledException in the error log); enabled again, it starts', { skip }, async () => {
  await db!.stop();
  await s.kmsClient().send(new DisableKeyCommand({ KeyId: keyId }));
  s.kms.store.invalidateKey(keyId);
  const err = await startMariaDb(dir, flags(token), { waitMs: 30_000 }).then(() => null, (e: Error) => e);
  assert.ok(err, 'mariadbd does not start with the KMS key disabled');
  assert.match(err.message, /DisabledException/);
  await s.kmsClient().send(new EnableKeyCommand({ KeyId: keyId }));
  s.kms.store.invalidateKey(keyId);
  db = await startMariaDb(dir, flags(token));
  const c = await db.connect();
  const [rows] = await c.query('SELECT COUNT(*) AS n FROM app.t') as [{ n: number }[], unknown];
  await c.end();
  assert.ok(Number(rows[0]!.n) > 100);
});

test('at MariaDB start: rekey unreachable stops the start (curl error in the error log)', { skip }, async () => {
  await db!.stop();
  db = undefined;
  // nothing listens on this port: the closed rekey server's address
  const err = await startMariaDb(dir, flags(token, 'http://127.0.0.1:9'), { waitMs: 30_000 }).then(() => null, (e: Error) => e);
  assert.ok(err, 'mariadbd does not start without rekey');
  assert.match(err.message, /hashicorp: .*(curl|Unable to get storage options)/s);
});
