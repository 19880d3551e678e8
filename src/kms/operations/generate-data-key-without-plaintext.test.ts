import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, rejects, unb64 } from '../testing.ts';

test('GenerateDataKeyWithoutPlaintext returns only the encrypted data key', async () => {
  const h = await harness();
  const md = await h.createKey();
  const r = await h.call('GenerateDataKeyWithoutPlaintext', { KeyId: md.Arn, KeySpec: 'AES_128', EncryptionContext: { x: 'y' } });
  assert.deepEqual(Object.keys(r).sort(), ['CiphertextBlob', 'KeyId', 'KeyMaterialId']);
  assert.equal(r['KeyId'], md.Arn);
  const d = await h.call('Decrypt', { CiphertextBlob: r['CiphertextBlob'], EncryptionContext: { x: 'y' } });
  assert.equal(unb64(d['Plaintext']).length, 16);
});

test('GenerateDataKeyWithoutPlaintext errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('GenerateDataKeyWithoutPlaintext', { KeyId: md.KeyId }), 'ValidationException', 'Please specify either number of bytes or key spec.');
  await h.call('DisableKey', { KeyId: md.KeyId });
  await rejects(h.call('GenerateDataKeyWithoutPlaintext', { KeyId: md.KeyId, NumberOfBytes: 64 }), 'DisabledException', `${md.Arn} is disabled.`);
});
