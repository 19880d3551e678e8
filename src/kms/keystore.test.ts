import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from '../crypto/index.ts';
import { MemoryBackend } from '../storage/memory.ts';
import { Barrier, initializeSeal } from '../storage/barrier.ts';
import { CasConflict } from '../storage/backend.ts';
import { KeyStore, TTL_MS, keyPath } from './keystore.ts';
import { FIXTURE_KEY } from './fixtures/ciphertext-v1.ts';
import { cloneRecord } from './model.ts';
import { b64, harness } from './testing.ts';

async function twoNodes(): Promise<{ a: KeyStore; b: KeyStore; barrier: Barrier; clock: { t: number } }> {
  const backend = new MemoryBackend();
  const root = randomBytes(32);
  await initializeSeal(backend, root, 'test');
  const clock = { t: 0 };
  const mono = () => clock.t;
  const barrier = await Barrier.unseal(backend, root);
  return { a: new KeyStore(barrier, { monotonic: mono }), b: new KeyStore(await Barrier.unseal(backend, root), { monotonic: mono }), barrier, clock };
}

test('records are stored encrypted at kms/keys/<id>; material never appears in clear', async () => {
  const h = await harness();
  const md = await h.createKey();
  const raw = await h.backend.get(keyPath(md.KeyId));
  assert.ok(raw);
  const rec = await h.kms.store.readKey(md.KeyId);
  const material = Buffer.from(rec!.value.materials[0]!.material, 'base64');
  const stored = Buffer.from(raw.value);
  for (const needle of [material, Buffer.from(material.toString('hex')), Buffer.from(material.toString('base64')), Buffer.from('ENCRYPT_DECRYPT')]) {
    assert.equal(stored.indexOf(needle), -1);
  }
});

test('the cache serves a key for the TTL, then sees another node\'s change', async () => {
  const { a, b, clock } = await twoNodes();
  await a.createKey(cloneRecord(FIXTURE_KEY));
  const first = await b.getKey(FIXTURE_KEY.keyId);
  assert.equal(first?.record.state, 'Enabled');
  await a.updateKey(FIXTURE_KEY.keyId, (r) => { r.state = 'Disabled'; }, () => new Error('missing'));
  // Node a invalidated its own entry at once; node b still has its cached copy within the TTL...
  assert.equal((await a.getKey(FIXTURE_KEY.keyId))?.record.state, 'Disabled');
  clock.t = TTL_MS - 1;
  assert.equal((await b.getKey(FIXTURE_KEY.keyId))?.record.state, 'Enabled');
  // ...and sees the change once the entry is TTL_MS old.
  clock.t = TTL_MS;
  assert.equal((await b.getKey(FIXTURE_KEY.keyId))?.record.state, 'Disabled');
});

test('the cache does not re-read storage within the TTL, and reuses an unchanged record after it', async () => {
  const { a, barrier, clock } = await twoNodes();
  await a.createKey(cloneRecord(FIXTURE_KEY));
  let reads = 0;
  const orig = barrier.getJSON.bind(barrier);
  barrier.getJSON = (async (p: string) => { reads++; return orig(p); }) as typeof barrier.getJSON;
  const k1 = await a.getKey(FIXTURE_KEY.keyId);
  await Promise.all(Array.from({ length: 50 }, () => a.getKey(FIXTURE_KEY.keyId)));
  assert.equal(reads, 1);
  clock.t = 5000;
  const k2 = await a.getKey(FIXTURE_KEY.keyId);
  assert.equal(reads, 2);
  assert.equal(k1, k2, 'same version: the decoded key is reused');
  assert.equal(k1?.current().material.length, 32);
});

test('concurrent loads of one key share one storage read', async () => {
  const { a, barrier } = await twoNodes();
  await a.createKey(cloneRecord(FIXTURE_KEY));
  a.invalidateKey(FIXTURE_KEY.keyId);
  let reads = 0;
  const orig = barrier.getJSON.bind(barrier);
  barrier.getJSON = (async (p: string) => { reads++; return orig(p); }) as typeof barrier.getJSON;
  const keys = await Promise.all(Array.from({ length: 20 }, () => a.getKey(FIXTURE_KEY.keyId)));
  assert.equal(reads, 1);
  assert.ok(keys.every((k) => k === keys[0]));
});

test('updates are compare-and-swap: a concurrent writer makes the update retry on fresh data', async () => {
  const { a, b, barrier } = await twoNodes();
  await a.createKey(cloneRecord(FIXTURE_KEY));
  // Another node writes between node a's read and node a's write.
  // (updateKey writes with transaction(): the record and its due-index entries together)
  const orig = barrier.transaction.bind(barrier);
  let interfered = false;
  barrier.transaction = (async (...args: Parameters<typeof barrier.transaction>) => {
    if (!interfered) {
      interfered = true;
      await b.updateKey(FIXTURE_KEY.keyId, (x) => { x.description = 'from b'; }, () => new Error('missing'));
    }
    return orig(...args);
  }) as typeof barrier.transaction;
  let calls = 0;
  await a.updateKey(FIXTURE_KEY.keyId, (r) => {
    calls++;
    r.tags = [...r.tags, { key: `n${calls}`, value: r.description }];
  }, () => new Error('missing'));
  const rec = (await a.readKey(FIXTURE_KEY.keyId))!.value;
  assert.equal(calls, 2);
  assert.equal(rec.description, 'from b');
  assert.deepEqual(rec.tags, [{ key: 'n2', value: 'from b' }]);
});

test('retry gives up after repeated conflicts with KMSInternalException', async () => {
  const { a } = await twoNodes();
  let n = 0;
  await assert.rejects(a.retry(async () => { n++; throw new CasConflict('kms/keys/x'); }), (e: Error) => {
    assert.equal(e.name, 'KMSInternalException');
    assert.equal(e.message, 'The request conflicted with concurrent changes to the same key. Retry the request.');
    return true;
  });
  assert.equal(n, 5);
});

test('a KmsService on a second node sees DisableKey within the cache TTL', async () => {
  const backend = new MemoryBackend();
  const root = randomBytes(32);
  const n1 = await harness({ backend, root, cacheTtlMs: 40 });
  const n2 = await harness({ backend, root, cacheTtlMs: 40 });
  const md = await n1.createKey();
  await n2.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') });
  await n1.call('DisableKey', { KeyId: md.KeyId });
  await new Promise((r) => setTimeout(r, 60));
  await assert.rejects(n2.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') }), { name: 'DisabledException' });
});

test('close() zeroes cached material', async () => {
  const { a } = await twoNodes();
  await a.createKey(cloneRecord(FIXTURE_KEY));
  const k = (await a.getKey(FIXTURE_KEY.keyId))!;
  const m = k.current().material;
  a.close();
  assert.ok(m.every((x) => x === 0));
  assert.throws(() => k.current(), { name: 'InternalFailure' });
});
