// PostgreSQL-specific behaviour beyond the conformance suite: several nodes on one table, table
// creation races, byte ordering under a locale-aware database collation, lock ordering.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { CasConflict } from './backend.ts';
import { PostgresBackend } from './postgres.ts';
import { openStore, rotateRootKey, type StoreOptions } from './open.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '../crypto/index.ts';

import { startPostgres, type StartedPostgres } from '../../test/helpers/pg.ts';

let server: StartedPostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

async function nodes(n: number, table: string): Promise<PostgresBackend[]> {
  return Promise.all(Array.from({ length: n }, () => PostgresBackend.open(server.url, { table, pool: { max: 4 } })));
}

async function closeAll(bs: PostgresBackend[]): Promise<void> {
  await Promise.all(bs.map((b) => b.close()));
}

test('several nodes creating the same new table at once all succeed', async () => {
  const bs = await nodes(8, 'created_concurrently');
  try {
    await bs[0]!.put('k', Buffer.from('v'));
    for (const b of bs) assert.equal((await b.get('k'))?.version, 1);
  } finally {
    await closeAll(bs);
  }
});

test('CAS across nodes: of 4 nodes x 5 writers at one version, exactly one wins', async () => {
  const bs = await nodes(4, 'multi_node');
  try {
    await bs[0]!.put('shared', Buffer.from('v1'));
    const attempts = bs.flatMap((b, n) => Array.from({ length: 5 }, (_, i) => b.put('shared', Buffer.from(`n${n}-${i}`), { expectVersion: 1 })));
    const results = await Promise.allSettled(attempts);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof CasConflict, String(r.reason));

    const inserts = await Promise.allSettled(bs.flatMap((b) => [1, 2, 3].map(() => b.put('fresh', Buffer.from('x'), { expectVersion: 0 }))));
    assert.equal(inserts.filter((r) => r.status === 'fulfilled').length, 1);
    // A unique-violation (23505) here would mean the insert was not conflict-safe.
    for (const r of inserts) if (r.status === 'rejected') assert.ok(r.reason instanceof CasConflict, String(r.reason));
  } finally {
    await closeAll(bs);
  }
});

test('transactions touching the same keys in opposite orders do not deadlock', async () => {
  const [a, b] = await nodes(2, 'lock_order');
  try {
    for (let round = 0; round < 25; round++) {
      await Promise.all([
        a!.transaction([{ type: 'put', key: 'x', value: Buffer.from('a') }, { type: 'put', key: 'y', value: Buffer.from('a') }]),
        b!.transaction([{ type: 'put', key: 'y', value: Buffer.from('b') }, { type: 'put', key: 'x', value: Buffer.from('b') }]),
      ]);
    }
    assert.equal((await a!.get('x'))?.version, 50);
  } finally {
    await closeAll([a!, b!]);
  }
});

test('list is byte-ordered even when the database collation is locale-aware (ICU en-US)', async () => {
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query("CREATE DATABASE icu_db TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'");
  await admin.end();
  const url = server.url.replace(/\/[^/]+$/, '/icu_db');
  const keys = ['a/B', 'a/a', 'a/_', 'a/Z', 'a/b'];
  // Control: without COLLATE "C" this database really does sort differently (so the test can fail).
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query('SELECT k FROM unnest($1::text[]) AS k ORDER BY k', [keys]);
    assert.notDeepEqual(r.rows.map((x: { k: string }) => x.k), ['a/B', 'a/Z', 'a/_', 'a/a', 'a/b']);
  } finally {
    await c.end();
  }
  const b = await PostgresBackend.open(url);
  try {
    for (const k of keys) await b.put(k, Buffer.from(k));
    assert.deepEqual(await b.list('a/'), ['a/B', 'a/Z', 'a/_', 'a/a', 'a/b']);
    assert.deepEqual(await b.list('a/', { after: 'a/Z' }), ['a/_', 'a/a', 'a/b']);
  } finally {
    await b.close();
  }
});

test('data is shared by nodes and survives reconnecting', async () => {
  const [a] = await nodes(1, 'durable');
  await a!.put('k', Buffer.from([0, 1, 2]));
  await a!.close();
  const [b] = await nodes(1, 'durable');
  try {
    const e = await b!.get('k');
    assert.deepEqual([...e!.value], [0, 1, 2]);
    assert.equal(b!.table, 'durable');
  } finally {
    await b!.close();
  }
});

test('table names are validated (no SQL through the option)', async () => {
  for (const table of ['Bad', 'x; DROP TABLE y', 'a"b', '', '1abc', 'x'.repeat(64)]) {
    await assert.rejects(PostgresBackend.open(server.url, { table }), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /invalid PostgreSQL table name/);
      return true;
    });
  }
});

test('a wrong password fails to open without echoing the password', async () => {
  const bad = server.url.replace(encodeURIComponent(server.password), 'not-the-password');
  await assert.rejects(PostgresBackend.open(bad), (e: Error) => {
    assert.match(e.message, /password authentication failed/);
    assert.ok(!e.message.includes('not-the-password'));
    return true;
  });
});

test('openStore and rotateRootKey on PostgreSQL, two nodes with separate data directories', async () => {
  const env = { OLD: randomBytes(32).toString('hex'), NEW: randomBytes(32).toString('base64') };
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'rekey-pgnode-')));
  const opts = (dataDir: string, variable: string): StoreOptions =>
    ({ backend: 'postgres', postgresUrl: server.url, postgresTable: 'store', dataDir, rootKey: { source: 'env', variable }, env });
  try {
    const a = await openStore(opts(dirs[0]!, 'OLD'));
    const b = await openStore(opts(dirs[1]!, 'OLD'));
    assert.deepEqual([a.initialized, b.initialized], [true, false]);
    await a.barrier.put('kms/k', Buffer.from('shared'));
    assert.equal((await b.barrier.get('kms/k'))!.value.toString(), 'shared');
    await rotateRootKey(opts(dirs[0]!, 'OLD'), { source: 'env', variable: 'NEW' });
    // Running nodes keep their keyring; the next start needs the new root.
    assert.equal((await b.barrier.get('kms/k'))!.value.toString(), 'shared');
    await Promise.all([a.backend.close(), b.backend.close()]);
    await assert.rejects(openStore(opts(dirs[1]!, 'OLD')), { name: 'SealedException' });
    const c = await openStore(opts(dirs[1]!, 'NEW'));
    assert.equal((await c.barrier.get('kms/k'))!.value.toString(), 'shared');
    await c.backend.close();
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
