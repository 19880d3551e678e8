// Saved v1 ciphertexts must keep decrypting, through the keystore and the Decrypt operation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FIXTURE_BLOBS, FIXTURE_KEY } from './fixtures/ciphertext-v1.ts';
import { cloneRecord } from './model.ts';
import { INVALID_CIPHERTEXT_MESSAGE } from './ciphertext.ts';
import { harness, rejects } from './testing.ts';

test('saved v1 ciphertexts decrypt with the fixture key record, reporting the material that made them', async () => {
  const h = await harness();
  await h.kms.store.createKey(cloneRecord(FIXTURE_KEY));
  for (const f of FIXTURE_BLOBS) {
    const r = await h.call('Decrypt', { CiphertextBlob: Buffer.from(f.hex, 'hex').toString('base64'), EncryptionContext: f.context });
    assert.deepEqual(r, {
      KeyId: FIXTURE_KEY.arn,
      Plaintext: Buffer.from(f.plaintextHex, 'hex').toString('base64'),
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      KeyMaterialId: f.materialId,
    });
  }
  // Both material versions are represented, the older one first.
  assert.deepEqual([...new Set(FIXTURE_BLOBS.map((f) => f.materialId))], FIXTURE_KEY.materials.map((m) => m.id));
});

test('saved v1 ciphertexts still bind their encryption context', async () => {
  const h = await harness();
  await h.kms.store.createKey(cloneRecord(FIXTURE_KEY));
  const f = FIXTURE_BLOBS[0]!;
  await rejects(h.call('Decrypt', { CiphertextBlob: Buffer.from(f.hex, 'hex').toString('base64'), EncryptionContext: {} }),
    'InvalidCiphertextException', INVALID_CIPHERTEXT_MESSAGE);
});
