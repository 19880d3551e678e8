// The plugin over HTTPS with rekey's generated CA (hashicorp_key_management_vault_ca), as
// `rekey db mariadb-config --vault-ca` configures it: mariadbd starts, its tables are encrypted with
// keys it read over TLS; without the CA it refuses rekey's certificate and does not start.
// Skips only where mariadbd or the plugin is missing, never under CI=true.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { installDataDir, mariaDbMissing, startMariaDb, type MariaDb } from './helpers/mariadb-server.ts';
import { adminCall, type AdminConnection } from '../src/cli/admin-client.ts';
import { mariaDbFlags } from '../src/keyserve/mariadb-config.ts';

const missing = mariaDbMissing();
if (missing && process.env['CI'] === 'true') throw new Error(`${missing}: CI=true does not skip the MariaDB tests (.ci/run installs the packages)`);
const skip = missing || false;

let s: TestServer;
let dir: string;
let db: MariaDb | undefined;
let token: string;

before(async () => {
  if (skip) return;
  s = await startTestServer({ env: { REKEY_TLS: 'generated' } });
  assert.ok(s.url.startsWith('https://') && s.ca);
  const conn: AdminConnection = { endpoint: new URL(s.url), region: 'us-east-1', credentials: TEST_CREDS, ca: Buffer.from(s.ca) };
  const keyId = (await s.kmsClient().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  await adminCall(conn, { method: 'POST', path: '/v1/keyserve/keyrings', body: { name: 'tls', kmsKeyId: keyId } });
  ({ token } = await adminCall<{ token: string }>(conn, { method: 'POST', path: '/v1/keyserve/keyrings/tls/tokens', body: {} }));
  dir = mkdtempSync(join(tmpdir(), 'rekey-mariadb-tls-'));
  writeFileSync(join(dir, 'rekey-ca.pem'), s.ca);
});

after(async () => {
  await db?.stop();
  await s?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const flags = (ca?: string) => [
  ...mariaDbFlags({ endpoint: s.url, keyring: 'tls', token, ...(ca ? { caFile: ca } : {}) }),
  '--hashicorp-key-management-timeout=2', '--hashicorp-key-management-max-retries=0',
];

test('over HTTPS with --vault-ca: mariadbd starts and its tables are encrypted; without the CA it does not start', { skip }, async () => {
  await installDataDir(dir, flags(join(dir, 'rekey-ca.pem')));
  db = await startMariaDb(dir, flags(join(dir, 'rekey-ca.pem')));
  const c = await db.connect();
  await c.query('CREATE TABLE test.t (v VARCHAR(20)) ENGINE=InnoDB').catch(async () => {
    await c.query('CREATE DATABASE test');
    await c.query('CREATE TABLE test.t (v VARCHAR(20)) ENGINE=InnoDB');
  });
  const [rows] = await c.query("SELECT ENCRYPTION_SCHEME, CURRENT_KEY_VERSION FROM information_schema.INNODB_TABLESPACES_ENCRYPTION WHERE NAME = 'test/t'") as [{ ENCRYPTION_SCHEME: number; CURRENT_KEY_VERSION: number }[], unknown];
  await c.end();
  assert.deepEqual(rows.map((r) => [r.ENCRYPTION_SCHEME, r.CURRENT_KEY_VERSION]), [[1, 1]]);
  await db.stop();
  db = undefined;
  const err = await startMariaDb(dir, flags(), { waitMs: 30_000 }).then(() => null, (e: Error) => e);
  assert.ok(err, 'without the CA, rekey\'s certificate is refused');
  assert.match(err.message, /hashicorp: curl returned this error code: 60/);
});
