// openStore / rotateRootKey on SQLite, as `rekey server` and `rekey operator rotate-root` use them.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from '../crypto/index.ts';
import type { Backend } from './backend.ts';
import { SEAL_PATH, initializeSeal, readSealRecord } from './barrier.ts';
import { MemoryBackend } from './memory.ts';
import { openBackend, openExistingStore, openStore, rotateRootKey, unsealStore, type StoreOptions } from './open.ts';
import { DEV_KEY_FILE, loadRootKey, type RootKeyConfig } from './rootkey.ts';

const base = mkdtempSync(join(tmpdir(), 'rekey-open-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

function keyFile(key = randomBytes(32)): { path: string; key: Buffer } {
  const path = join(base, `root-${++n}.key`);
  writeFileSync(path, key.toString('hex'), { mode: 0o600 });
  return { path, key };
}

function sqlite(rootKey: RootKeyConfig, dataDir = join(base, `store-${++n}`), env: NodeJS.ProcessEnv = {}): StoreOptions {
  return { backend: 'sqlite', dataDir, rootKey, env };
}

/** Every row except the seal record, raw (ciphertext) bytes and versions. */
async function rawRows(b: Backend) {
  const rows: Record<string, { version: number; hex: string }> = {};
  for (const k of await b.list('')) {
    if (k === SEAL_PATH) continue;
    const e = (await b.get(k))!;
    rows[k] = { version: e.version, hex: Buffer.from(e.value).toString('hex') };
  }
  return rows;
}

async function write(opts: StoreOptions, values: Record<string, string>) {
  const s = await openStore(opts);
  for (const [k, v] of Object.entries(values)) await s.barrier.put(k, Buffer.from(v));
  await s.backend.close();
}

async function readAll(opts: StoreOptions, keys: string[]) {
  const s = await openStore(opts);
  try {
    return Object.fromEntries(await Promise.all(keys.map(async (k) => [k, (await s.barrier.get(k))!.value.toString()])));
  } finally {
    await s.backend.close();
  }
}

test('a new store is created (0700 dir, 0600 db), initialized once, and reopens', async () => {
  const opts = sqlite({ source: 'file', path: keyFile().path }, join(base, 'nested', 'a', 'b'));
  const first = await openStore(opts);
  assert.equal(first.initialized, true);
  assert.equal(first.warning, undefined);
  assert.equal(first.backend.kind, 'sqlite');
  await first.barrier.put('kms/k', Buffer.from('hello'));
  await first.backend.close();
  assert.equal(statSync(opts.dataDir).mode & 0o777, 0o700);
  assert.equal(statSync(join(opts.dataDir, 'rekey.db')).mode & 0o777, 0o600);

  const second = await openStore(opts);
  assert.equal(second.initialized, false);
  assert.equal((await second.barrier.get('kms/k'))!.value.toString(), 'hello');
  assert.equal((await readSealRecord(second.backend))!.rootKind, 'file');
  await second.backend.close();
});

test('dev root key: warning on every open, key file reused', async () => {
  const opts = sqlite({ source: 'dev' });
  const a = await openStore(opts);
  assert.match(a.warning!, /DEV ROOT KEY/);
  await a.barrier.put('x', Buffer.from('1'));
  await a.backend.close();
  const b = await openStore(opts);
  assert.match(b.warning!, /DEV ROOT KEY/);
  assert.equal((await b.barrier.get('x'))!.value.toString(), '1');
  await b.backend.close();
});

test('a wrong root key is a SealedException naming kinds, never key bytes', async () => {
  const right = keyFile();
  const wrong = keyFile();
  const dataDir = join(base, 'wrong-root');
  await write(sqlite({ source: 'file', path: right.path }, dataDir), { a: '1' });
  await assert.rejects(openStore(sqlite({ source: 'file', path: wrong.path }, dataDir)), (e: Error) => {
    assert.equal(e.name, 'SealedException');
    assert.match(e.message, /configured file root key does not open this data directory's keyring \(it was sealed with a file root key\)/);
    for (const k of [right.key, wrong.key]) {
      assert.ok(!e.message.includes(k.toString('hex').slice(0, 8)));
      assert.ok(!e.message.includes(k.toString('base64').slice(0, 8)));
    }
    return true;
  });
  // the failed open released the database: a correct open still works
  assert.deepEqual(await readAll(sqlite({ source: 'file', path: right.path }, dataDir), ['a']), { a: '1' });
});

test('a passphrase store refuses a raw key and vice versa, before trying to unseal', async () => {
  const dataDir = join(base, 'kinds');
  const env = { PASS: 'correct horse battery staple' };
  await write(sqlite({ source: 'passphrase', variable: 'PASS' }, dataDir, env), { a: '1' });
  await assert.rejects(openStore(sqlite({ source: 'env', variable: 'K' }, dataDir, { K: randomBytes(32).toString('hex') })), {
    name: 'ConfigurationError', message: /sealed with a passphrase root key, but the configuration provides an env root key/,
  });
  await assert.rejects(openStore(sqlite({ source: 'passphrase', variable: 'PASS' }, dataDir, { PASS: 'a different passphrase' })), {
    name: 'SealedException',
  });
  assert.deepEqual(await readAll(sqlite({ source: 'passphrase', variable: 'PASS' }, dataDir, env), ['a']), { a: '1' });
});

test('postgres backend without a URL is a configuration error', async () => {
  await assert.rejects(openStore({ backend: 'postgres', dataDir: join(base, 'pg'), rootKey: { source: 'dev' } }), {
    name: 'ConfigurationError', message: /needs a connection URL/,
  });
});

test('rotate-root: O(1) rewrap; old root stops unsealing, new one opens every value; data rows byte-identical', async () => {
  const oldKey = keyFile();
  const dataDir = join(base, 'rotate');
  const oldOpts = sqlite({ source: 'file', path: oldKey.path }, dataDir);
  const values = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`kms/keys/${i}`, `material-${i}`]));
  await write(oldOpts, values);
  // A keyring rotation before the root rotation: both terms must survive the rewrap.
  const s = await openStore(oldOpts);
  await s.barrier.rotateKeyring(oldKey.key);
  await s.barrier.put('after-keyring-rotation', Buffer.from('term 2'));
  const before = await rawRows(s.backend);
  const sealBefore = (await s.backend.get(SEAL_PATH))!;
  await s.backend.close();

  const newKey = keyFile();
  const r = await rotateRootKey(oldOpts, { source: 'file', path: newKey.path });
  assert.deepEqual(r, { kind: 'file', removedDevKey: false });

  const newOpts = sqlite({ source: 'file', path: newKey.path }, dataDir);
  await assert.rejects(openStore(oldOpts), { name: 'SealedException' });
  const all = await readAll(newOpts, [...Object.keys(values), 'after-keyring-rotation']);
  assert.deepEqual(all, { ...values, 'after-keyring-rotation': 'term 2' });

  const after = await openStore(newOpts);
  assert.deepEqual(await rawRows(after.backend), before, 'no data row was rewritten');
  const sealAfter = (await after.backend.get(SEAL_PATH))!;
  assert.equal(sealAfter.version, sealBefore.version + 1);
  assert.notDeepEqual(sealAfter.value, sealBefore.value);
  await after.backend.close();
});

test('rotate-root between sources: file -> passphrase -> env, fresh salt, kinds recorded', async () => {
  const dataDir = join(base, 'chain');
  const file = keyFile();
  const envKey = randomBytes(32).toString('base64');
  const env = { PASS: 'rotate me to a passphrase', KEY: envKey };
  const fileOpts = sqlite({ source: 'file', path: file.path }, dataDir, env);
  const passOpts = sqlite({ source: 'passphrase', variable: 'PASS' }, dataDir, env);
  const envOpts = sqlite({ source: 'env', variable: 'KEY' }, dataDir, env);
  await write(fileOpts, { v: 'kept' });

  assert.equal((await rotateRootKey(fileOpts, passOpts.rootKey)).kind, 'passphrase');
  const s1 = await openStore(passOpts);
  const salt1 = (await readSealRecord(s1.backend))!.passphraseSalt;
  assert.equal(Buffer.from(salt1!, 'base64').length, 16);
  await s1.backend.close();
  await assert.rejects(openStore(fileOpts), { name: 'ConfigurationError' });

  // Same passphrase again: allowed, because the fresh salt makes it a different key.
  await rotateRootKey(passOpts, passOpts.rootKey);
  const s2 = await openStore(passOpts);
  assert.notEqual((await readSealRecord(s2.backend))!.passphraseSalt, salt1);
  await s2.backend.close();

  await rotateRootKey(passOpts, envOpts.rootKey);
  const s3 = await openStore(envOpts);
  const rec = (await readSealRecord(s3.backend))!;
  assert.equal(rec.rootKind, 'env');
  assert.equal(rec.passphraseSalt, undefined);
  assert.equal((await s3.barrier.get('v'))!.value.toString(), 'kept');
  await s3.backend.close();
});

test('rotate-root away from a dev key deletes dev-root.key; rotating to dev is refused', async () => {
  const dataDir = join(base, 'from-dev');
  const devOpts = sqlite({ source: 'dev' }, dataDir);
  await write(devOpts, { v: 'dev data' });
  await assert.rejects(rotateRootKey(devOpts, { source: 'dev' }), { name: 'ConfigurationError', message: /cannot be the target/ });
  const file = keyFile();
  const r = await rotateRootKey(devOpts, { source: 'file', path: file.path });
  assert.equal(r.removedDevKey, true);
  assert.equal(existsSync(join(dataDir, DEV_KEY_FILE)), false);
  await assert.rejects(openStore(devOpts), { name: 'ConfigurationError', message: /sealed with a file root key\) and has no dev-root.key/ });
  assert.deepEqual(await readAll(sqlite({ source: 'file', path: file.path }, dataDir), ['v']), { v: 'dev data' });
});

test('rotate-root refusals change nothing: same key, wrong current key, uninitialized store', async () => {
  const dataDir = join(base, 'refusals');
  const cur = keyFile();
  const opts = sqlite({ source: 'file', path: cur.path }, dataDir);
  await write(opts, { v: '1' });
  const sealOf = async () => {
    const s = await openStore(opts);
    try {
      return await s.backend.get(SEAL_PATH);
    } finally {
      await s.backend.close();
    }
  };
  const seal = await sealOf();
  const sameBytes = keyFile(cur.key);
  await assert.rejects(rotateRootKey(opts, { source: 'file', path: sameBytes.path }), { name: 'ConfigurationError', message: /same as the current root key/ });
  const wrongCurrent = sqlite({ source: 'file', path: keyFile().path }, dataDir);
  await assert.rejects(rotateRootKey(wrongCurrent, { source: 'file', path: keyFile().path }), { name: 'SealedException' });
  await assert.rejects(rotateRootKey(opts, { source: 'file', path: join(base, 'missing.key') }), { name: 'ConfigurationError', message: /does not exist/ });
  assert.deepEqual(await sealOf(), seal);
  const nowhere = sqlite({ source: 'file', path: cur.path });
  await assert.rejects(rotateRootKey(nowhere, { source: 'file', path: keyFile().path }), {
    name: 'ConfigurationError', message: `no rekey store in ${nowhere.dataDir}: ${join(nowhere.dataDir, 'rekey.db')} does not exist (name the data directory with --data-dir or REKEY_DATA_DIR)`,
  });
  assert.equal(existsSync(nowhere.dataDir), false, 'rotate-root created a data directory');
});

// Issue 17, item 11: `rekey audit verify --file X` without REKEY_DATA_DIR created ./data with a
// new dev root key. A command that reads a store never creates one.
test('openExistingStore never creates a data directory, a database, a seal or a dev root key', async () => {
  const missing = sqlite({ source: 'dev' });
  await assert.rejects(openExistingStore(missing), { name: 'ConfigurationError', message: /^no rekey store in .*rekey\.db does not exist/ });
  assert.equal(existsSync(missing.dataDir), false);
  // an empty database file (say, left by an older rekey) is not initialized: still nothing written
  const empty = sqlite({ source: 'dev' });
  await (await openBackend(empty)).close();
  await assert.rejects(openExistingStore(empty), { name: 'ConfigurationError', message: /has not been initialized/ });
  assert.equal(existsSync(join(empty.dataDir, DEV_KEY_FILE)), false, 'a dev root key was created');
  // an existing store opens and reads
  const real = sqlite({ source: 'dev' });
  await write(real, { v: '1' });
  const opened = await openExistingStore(real);
  assert.equal(opened.initialized, false);
  await opened.backend.close();
});

test('a node that loses the initialization race re-derives its passphrase key with the winner\'s salt', async () => {
  const env = { PASS: 'one passphrase, two nodes' };
  const rootKey: RootKeyConfig = { source: 'passphrase', variable: 'PASS' };
  // The seal record is read twice before initializing; between the second read and our
  // initializeSeal, another node initializes the store with its own fresh salt.
  class OtherNodeWinsRace extends MemoryBackend {
    private reads = 0;
    override async get(key: string) {
      const r = await super.get(key);
      if (key === SEAL_PATH && ++this.reads === 2) {
        const other = await loadRootKey(rootKey, base, this, { env });
        assert.equal(await initializeSeal(this, other.key, other.kind, other.passphraseSalt), true);
      }
      return r;
    }
  }
  const backend = new OtherNodeWinsRace();
  const store = await unsealStore(backend, { dataDir: base, rootKey, env });
  assert.equal(store.initialized, false);
  await store.barrier.put('k', Buffer.from('v'));
  assert.equal((await store.barrier.get('k'))!.value.toString(), 'v');
});
