// SQLite specifics beyond the conformance suite: durability settings, file modes, and two
// connections on one file (as when `rekey operator` runs beside a server).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CasConflict } from './backend.ts';
import { SqliteBackend } from './sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'rekey-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('WAL with synchronous=FULL; the database, -wal and -shm files are 0600', async () => {
  const file = join(dir, 'modes.db');
  const b = SqliteBackend.open(file);
  try {
    assert.deepEqual(b.settings(), { journalMode: 'wal', synchronous: 'FULL' });
    await b.put('k', Buffer.from('v'));
    for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
  } finally {
    await b.close();
  }
});

test('two connections on one file see each other\'s commits and CAS against each other', async () => {
  const file = join(dir, 'shared.db');
  const a = SqliteBackend.open(file);
  const b = SqliteBackend.open(file);
  try {
    await a.put('k', Buffer.from('1'));
    assert.equal((await b.get('k'))!.version, 1);
    assert.equal(await b.put('k', Buffer.from('2'), { expectVersion: 1 }), 2);
    await assert.rejects(a.put('k', Buffer.from('3'), { expectVersion: 1 }), CasConflict);
    await assert.rejects(a.transaction([{ type: 'put', key: 'other', value: Buffer.from('x') }, { type: 'delete', key: 'k', expectVersion: 1 }]), CasConflict);
    assert.equal(await b.get('other'), null);
  } finally {
    await a.close();
    await b.close();
  }
  const c = SqliteBackend.open(file);
  assert.equal(Buffer.from((await c.get('k'))!.value).toString(), '2');
  await c.close();
});

test('a relaxed (durable: false) transaction commits atomically and leaves synchronous=FULL for every other commit, also when its CAS fails; sync() checkpoints the WAL', async () => {
  const file = join(dir, 'relaxed.db');
  const b = SqliteBackend.open(file);
  try {
    await b.transaction([{ type: 'put', key: 'a', value: Buffer.from('1'), expectVersion: 0 }, { type: 'put', key: 'b', value: Buffer.from('2') }], { durable: false });
    assert.deepEqual(b.settings(), { journalMode: 'wal', synchronous: 'FULL' });
    assert.equal((await b.get('a'))?.value.toString(), '1');
    await assert.rejects(b.transaction([{ type: 'put', key: 'c', value: Buffer.from('3') }, { type: 'put', key: 'a', value: Buffer.from('x'), expectVersion: 0 }], { durable: false }), CasConflict);
    assert.equal(await b.get('c'), null, 'nothing of the failed transaction stays');
    assert.deepEqual(b.settings(), { journalMode: 'wal', synchronous: 'FULL' });
    assert.ok(statSync(`${file}-wal`).size > 0);
    await b.sync();
    // a second connection sees the relaxed commit (the WAL is shared; sync copied it into the database file)
    const other = SqliteBackend.open(file);
    try {
      assert.equal((await other.get('b'))?.value.toString(), '2');
    } finally {
      await other.close();
    }
  } finally {
    await b.close();
  }
});

test('REKEY_SQLITE_BINDING names the native addon to load (CI\'s second Node line builds its own)', () => {
  const saved = process.env['REKEY_SQLITE_BINDING'];
  try {
    process.env['REKEY_SQLITE_BINDING'] = join(dir, 'no-such-addon.node');
    assert.throws(() => new SqliteBackend(join(dir, 'binding.db')), (e: Error) => e.message.includes('no-such-addon.node'));
  } finally {
    if (saved === undefined) delete process.env['REKEY_SQLITE_BINDING'];
    else process.env['REKEY_SQLITE_BINDING'] = saved;
  }
  // unset: node_modules' own build, as before
  const b = new SqliteBackend(join(dir, 'binding.db'));
  return b.close();
});
