import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from '../crypto/index.ts';
import { Barrier, BarrierValueError, SEAL_PATH, initializeSeal, readSealRecord, rotateRoot } from './barrier.ts';
import { MemoryBackend } from './memory.ts';

async function fresh(root = randomBytes(32)) {
  const backend = new MemoryBackend();
  assert.equal(await initializeSeal(backend, root, 'file'), true);
  return { backend, root, barrier: await Barrier.unseal(backend, root) };
}

const isValueError = (path: string) => (e: unknown) => {
  assert.ok(e instanceof BarrierValueError, String(e));
  assert.equal(e.path, path);
  assert.match(e.message, /failed authentication/);
  return true;
};

test('values round-trip and are stored encrypted', async () => {
  const { backend, barrier } = await fresh();
  const plain = Buffer.from('the secret value \u0000\u00ff');
  assert.equal(await barrier.put('kms/keys/k1', plain), 1);
  const stored = (await backend.get('kms/keys/k1'))!.value;
  assert.equal(Buffer.from(stored).includes(Buffer.from('secret')), false);
  assert.equal(stored.length, 1 + 4 + 8 + 12 + 16 + plain.length); // v2: format, term, stamp, iv, tag
  assert.deepEqual((await barrier.get('kms/keys/k1'))!.value, plain);
  await barrier.putJSON('j', { a: [1, 'two'] });
  assert.deepEqual((await barrier.getJSON('j'))!.value, { a: [1, 'two'] });
  assert.equal(await barrier.get('missing'), null);
  await barrier.put('empty', Buffer.alloc(0));
  assert.equal((await barrier.get('empty'))!.value.length, 0);
});

test('a value copied to another path fails with BarrierValueError (path is the AAD)', async () => {
  const { backend, barrier } = await fresh();
  await barrier.put('aliases/a', Buffer.from('points to key 1'));
  await backend.put('aliases/b', (await backend.get('aliases/a'))!.value);
  await assert.rejects(barrier.get('aliases/b'), isValueError('aliases/b'));
  assert.equal((await barrier.get('aliases/a'))!.value.toString(), 'points to key 1');
});

test('flipping any byte (format, term, iv, tag, ciphertext) or truncating fails', async () => {
  const { backend, barrier } = await fresh();
  await barrier.put('p', Buffer.from('sixteen byte msg'));
  const good = Buffer.from((await backend.get('p'))!.value);
  for (const i of [0, 1, 4, 5, 16, 17, 32, 33, good.length - 1]) {
    const bad = Buffer.from(good);
    bad[i] = bad[i]! ^ 0x01;
    await backend.put('p', bad);
    await assert.rejects(barrier.get('p'), isValueError('p'), `byte ${i}`);
  }
  for (const len of [0, 4, 32, good.length - 1]) {
    await backend.put('p', good.subarray(0, len));
    await assert.rejects(barrier.get('p'), isValueError('p'), `length ${len}`);
  }
  await backend.put('p', good);
  assert.equal((await barrier.get('p'))!.value.toString(), 'sixteen byte msg');
});

test('a wrong root key cannot unseal: SealedException', async () => {
  const { backend } = await fresh();
  await assert.rejects(Barrier.unseal(backend, randomBytes(32)), (e: Error) => {
    assert.equal(e.name, 'SealedException');
    assert.match(e.message, /does not open/);
    return true;
  });
  await assert.rejects(Barrier.unseal(new MemoryBackend(), randomBytes(32)), /not been initialized/);
});

test('initializeSeal does not overwrite an existing seal', async () => {
  const { backend, root } = await fresh();
  const before = await backend.get(SEAL_PATH);
  assert.equal(await initializeSeal(backend, randomBytes(32), 'file'), false);
  assert.deepEqual(await backend.get(SEAL_PATH), before);
  await Barrier.unseal(backend, root);
});

test('keyring rotation: new writes use the new term, old values stay readable, also after unseal', async () => {
  const { backend, root, barrier } = await fresh();
  await barrier.put('old', Buffer.from('written under term 1'));
  assert.equal(barrier.term, 1);
  assert.equal(await barrier.rotateKeyring(root), 2);
  await barrier.put('new', Buffer.from('written under term 2'));
  assert.equal(Buffer.from((await backend.get('old'))!.value).readUInt32BE(1), 1);
  assert.equal(Buffer.from((await backend.get('new'))!.value).readUInt32BE(1), 2);
  const again = await Barrier.unseal(backend, root);
  assert.equal(again.term, 2);
  assert.equal((await again.get('old'))!.value.toString(), 'written under term 1');
  assert.equal((await again.get('new'))!.value.toString(), 'written under term 2');
  // Relabelling a term-1 value as term 2 fails: the term is in the AAD.
  const relabelled = Buffer.from((await backend.get('old'))!.value);
  relabelled.writeUInt32BE(2, 1);
  await backend.put('old', relabelled);
  await assert.rejects(again.get('old'), isValueError('old'));
});

test('root rotation rewraps only the seal record; the old root stops working', async () => {
  const { backend, root, barrier } = await fresh();
  await barrier.put('data', Buffer.from('v'));
  const before = await backend.get('data');
  const next = randomBytes(32);
  await rotateRoot(backend, root, next, 'env');
  assert.deepEqual(await backend.get('data'), before);
  await assert.rejects(Barrier.unseal(backend, root), { name: 'SealedException' });
  assert.equal((await (await Barrier.unseal(backend, next)).get('data'))!.value.toString(), 'v');
  const rec = await readSealRecord(backend);
  assert.equal(rec!.rootKind, 'env');
  assert.ok(rec!.rootRotatedAt);
  await assert.rejects(rotateRoot(backend, root, randomBytes(32), 'file'), { name: 'SealedException' });
});

test('transactions encrypt put values per path; core/ paths are reserved', async () => {
  const { backend, barrier } = await fresh();
  await barrier.transaction([Barrier.putOp('a', { n: 1 }), Barrier.putOp('b', { n: 2 }, 0)]);
  assert.deepEqual((await barrier.getJSON('a'))!.value, { n: 1 });
  assert.deepEqual((await barrier.getJSON('b'))!.value, { n: 2 });
  assert.equal(Buffer.from((await backend.get('a'))!.value).includes(Buffer.from('"n"')), false);
  await assert.rejects(barrier.put('core/seal', Buffer.from('x')), { name: 'InternalFailure' });
  await assert.rejects(barrier.transaction([Barrier.putOp('core/x', 1)]), { name: 'InternalFailure' });
  await assert.rejects(barrier.get('core/seal'), { name: 'InternalFailure' });
});

test('seal() forgets the keyring', async () => {
  const { barrier } = await fresh();
  await barrier.put('x', Buffer.from('1'));
  barrier.seal();
  await assert.rejects(barrier.put('x', Buffer.from('2')), { name: 'SealedException' });
  await assert.rejects(barrier.get('x'), { name: 'SealedException' });
});
