import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, rejects, unb64 } from '../testing.ts';

test('GenerateRandom returns 1..1024 random bytes', async () => {
  const h = await harness();
  for (const n of [1, 32, 1024]) {
    const r = await h.call('GenerateRandom', { NumberOfBytes: n });
    assert.deepEqual(Object.keys(r), ['Plaintext']);
    assert.equal(unb64(r['Plaintext']).length, n);
  }
  const a = await h.call('GenerateRandom', { NumberOfBytes: 32 });
  const b = await h.call('GenerateRandom', { NumberOfBytes: 32 });
  assert.notEqual(a['Plaintext'], b['Plaintext']);
});

test('GenerateRandom errors', async () => {
  const h = await harness();
  await rejects(h.call('GenerateRandom', {}), 'ValidationException', 'NumberOfBytes is required.');
  await rejects(h.call('GenerateRandom', { NumberOfBytes: 0 }), 'ValidationException',
    "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1");
  await rejects(h.call('GenerateRandom', { NumberOfBytes: 1025 }), 'ValidationException',
    "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024");
  await rejects(h.call('GenerateRandom', { NumberOfBytes: '8' }), 'SerializationException', 'STRING_VALUE can not be converted to an Integer');
  await rejects(h.call('GenerateRandom', { NumberOfBytes: 8, CustomKeyStoreId: 'cks-1' }), 'UnsupportedOperationException', 'Custom key stores are not supported by rekey.');
});
