import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, scrypt } from '../crypto/index.ts';
import { ConfigurationError } from '../errors.ts';
import { initializeSeal } from './barrier.ts';
import { MemoryBackend } from './memory.ts';
import { DEV_KEY_FILE, PASSPHRASE_SCRYPT, loadRootKey, type RootKeyConfig } from './rootkey.ts';

const base = mkdtempSync(join(tmpdir(), 'rekey-rootkey-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const dir = () => mkdtempSync(join(base, `d${++n}-`));

/** Asserts a ConfigurationError whose message matches `re` and contains none of `secrets`. */
function configError(re: RegExp, ...secrets: string[]) {
  return (e: unknown) => {
    assert.ok(e instanceof ConfigurationError, String(e));
    assert.equal(e.name, 'ConfigurationError');
    assert.match(e.message, re);
    for (const s of secrets) assert.ok(!e.message.includes(s), `message leaks ${JSON.stringify(s.slice(0, 12))}...: ${e.message}`);
    return true;
  };
}

test('dev: generated once into dev-root.key (0600) and reused, with a loud warning', async () => {
  const d = dir();
  const backend = new MemoryBackend();
  const first = await loadRootKey({ source: 'dev' }, d, backend);
  assert.equal(first.key.length, 32);
  assert.equal(first.kind, 'dev');
  assert.match(first.warning!, /DEV ROOT KEY/);
  assert.ok(first.warning!.includes(join(d, DEV_KEY_FILE)));
  assert.equal(statSync(join(d, DEV_KEY_FILE)).mode & 0o777, 0o600);
  assert.deepEqual(readFileSync(join(d, DEV_KEY_FILE)), first.key);
  const second = await loadRootKey({ source: 'dev' }, d, backend);
  assert.deepEqual(second.key, first.key);
  assert.notEqual(second.key, first.key); // a copy the caller may zeroize
});

test('dev: concurrent first loads agree on one key', async () => {
  const d = dir();
  const keys = await Promise.all(Array.from({ length: 5 }, () => loadRootKey({ source: 'dev' }, d, new MemoryBackend())));
  for (const k of keys) assert.deepEqual(k.key, keys[0]!.key);
});

test('dev: refuses to invent a new key for an initialized store, a corrupt file, or a rotation target', async () => {
  const d = dir();
  const backend = new MemoryBackend();
  await initializeSeal(backend, randomBytes(32), 'file');
  await assert.rejects(loadRootKey({ source: 'dev' }, d, backend), configError(/already initialized \(sealed with a file root key\)/));
  writeFileSync(join(d, DEV_KEY_FILE), randomBytes(31));
  await assert.rejects(loadRootKey({ source: 'dev' }, d, new MemoryBackend()), configError(/corrupt \(expected 32 bytes, found 31\)/));
  await assert.rejects(loadRootKey({ source: 'dev' }, d, new MemoryBackend(), { purpose: 'rewrap' }), configError(/cannot be the target of a root rotation/));
});

test('file: raw bytes, hex and base64 (whitespace trimmed) all give the same key', async () => {
  const d = dir();
  const key = randomBytes(32);
  const forms: Record<string, string | Buffer> = {
    raw: key,
    hex: `${key.toString('hex')}\n`,
    HEX: `  ${key.toString('hex').toUpperCase()}  \r\n`,
    base64: `${key.toString('base64')}\n`,
    base64url: key.toString('base64url'),
  };
  for (const [name, content] of Object.entries(forms)) {
    const p = join(d, name);
    writeFileSync(p, content, { mode: 0o600 });
    const r = await loadRootKey({ source: 'file', path: p }, d, new MemoryBackend());
    assert.deepEqual(r.key, key, name);
    assert.equal(r.kind, 'file');
    assert.equal(r.warning, undefined, name);
  }
});

test('file: wrong sizes and formats are clear errors that never echo the contents', async () => {
  const d = dir();
  const cases: [string, string | Buffer][] = [
    ['raw31', randomBytes(31)],
    ['raw33', Buffer.concat([randomBytes(32), Buffer.from('\n')])],
    ['hex62', randomBytes(31).toString('hex')],
    ['b64of31', randomBytes(31).toString('base64')],
    ['b64of33', randomBytes(33).toString('base64')],
    ['notakey', 'correct horse battery staple, definitely not a key'],
    ['empty', ''],
  ];
  for (const [name, content] of cases) {
    const p = join(d, name);
    writeFileSync(p, content);
    const text = Buffer.from(content).toString('latin1').trim();
    await assert.rejects(
      loadRootKey({ source: 'file', path: p }, d, new MemoryBackend()),
      configError(new RegExp(`root key file .*${name} must hold a 32-byte key.*holds ${Buffer.byteLength(content)} bytes`), ...(text.length >= 8 ? [text, text.slice(0, 16)] : [])),
      name,
    );
  }
  await assert.rejects(loadRootKey({ source: 'file', path: join(d, 'absent') }, d, new MemoryBackend()), configError(/absent does not exist/));
  await assert.rejects(loadRootKey({ source: 'file', path: d }, d, new MemoryBackend()), configError(/is a directory/));
  await assert.rejects(loadRootKey({ source: 'file', path: '' }, d, new MemoryBackend()), configError(/path is empty/));
});

test('file: a key readable by group or others loads with a warning', async () => {
  const d = dir();
  const p = join(d, 'loose.key');
  writeFileSync(p, randomBytes(32).toString('hex'));
  chmodSync(p, 0o644);
  const r = await loadRootKey({ source: 'file', path: p }, d, new MemoryBackend());
  assert.match(r.warning!, /accessible to group or others \(mode 0644\); restrict it with chmod 600/);
});

test('env: hex or base64 of 32 bytes; missing or malformed values are named, not echoed', async () => {
  const key = randomBytes(32);
  const load = (value: string | undefined) =>
    loadRootKey({ source: 'env', variable: 'ROOT' }, base, new MemoryBackend(), { env: value === undefined ? {} : { ROOT: value } });
  assert.deepEqual((await load(key.toString('hex'))).key, key);
  assert.deepEqual((await load(` ${key.toString('base64')}\n`)).key, key);
  assert.equal((await load(key.toString('hex'))).kind, 'env');
  await assert.rejects(load(undefined), configError(/environment variable ROOT \(root key\) is not set/));
  await assert.rejects(load(''), configError(/is not set/));
  const bad = randomBytes(31).toString('hex');
  await assert.rejects(load(bad), configError(/ROOT must hold a 32-byte root key as 64 hex characters or base64 \(it holds 62 characters\)/, bad, bad.slice(0, 16)));
});

test('passphrase: new store gets a random 16-byte salt; an existing store reuses its salt', async () => {
  const passphrase = 'a long enough passphrase';
  const cfg: RootKeyConfig = { source: 'passphrase', variable: 'PASS' };
  const env = { PASS: passphrase };
  const backend = new MemoryBackend();
  const created = await loadRootKey(cfg, base, backend, { env });
  assert.equal(created.kind, 'passphrase');
  const salt = Buffer.from(created.passphraseSalt!, 'base64');
  assert.equal(salt.length, 16);
  assert.deepEqual(created.key, scrypt(passphrase, salt, PASSPHRASE_SCRYPT));
  await initializeSeal(backend, created.key, created.kind, created.passphraseSalt);

  const reopened = await loadRootKey(cfg, base, backend, { env });
  assert.equal(reopened.passphraseSalt, created.passphraseSalt);
  assert.deepEqual(reopened.key, created.key);

  const other = await loadRootKey(cfg, base, new MemoryBackend(), { env });
  assert.notEqual(other.passphraseSalt, created.passphraseSalt);
  assert.notDeepEqual(other.key, created.key);

  const rewrap = await loadRootKey(cfg, base, backend, { env, purpose: 'rewrap' });
  assert.notEqual(rewrap.passphraseSalt, created.passphraseSalt, 'a rotation target always gets a fresh salt');
});

test('passphrase: errors never contain the passphrase', async () => {
  const cfg: RootKeyConfig = { source: 'passphrase', variable: 'PASS' };
  await assert.rejects(loadRootKey(cfg, base, new MemoryBackend(), { env: {} }), configError(/PASS \(root key passphrase\) is not set/));
  await assert.rejects(loadRootKey(cfg, base, new MemoryBackend(), { env: { PASS: 'hunter2abc' } }), configError(/shorter than 12 characters/, 'hunter2abc', '10'));
  const fileSealed = new MemoryBackend();
  await initializeSeal(fileSealed, randomBytes(32), 'file');
  await assert.rejects(
    loadRootKey(cfg, base, fileSealed, { env: { PASS: 'correct horse battery' } }),
    configError(/sealed with a file root key, not a passphrase/, 'correct horse battery'),
  );
});

test('an unknown source is a ConfigurationError', async () => {
  await assert.rejects(loadRootKey({ source: 'kms' } as unknown as RootKeyConfig, base, new MemoryBackend()), configError(/unknown root key source "kms"/));
});

test('dev key file removed after initialization is reported, not silently replaced', async () => {
  const d = dir();
  const backend = new MemoryBackend();
  const k = await loadRootKey({ source: 'dev' }, d, backend);
  await initializeSeal(backend, k.key, 'dev');
  unlinkSync(join(d, DEV_KEY_FILE));
  await assert.rejects(loadRootKey({ source: 'dev' }, d, backend), configError(/already initialized \(sealed with a dev root key\) and has no dev-root.key/));
});
