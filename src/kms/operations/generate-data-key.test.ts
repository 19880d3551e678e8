import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_KEY_ID, arnOf, b64, harness, rejects, unb64 } from '../testing.ts';

test('GenerateDataKey returns a data key in plaintext and encrypted; sizes from KeySpec or NumberOfBytes', async () => {
  const h = await harness();
  const md = await h.createKey();
  for (const [input, size] of [[{ KeySpec: 'AES_256' }, 32], [{ KeySpec: 'AES_128' }, 16], [{ NumberOfBytes: 1 }, 1], [{ NumberOfBytes: 1024 }, 1024]] as const) {
    const r = await h.call('GenerateDataKey', { KeyId: md.KeyId, EncryptionContext: { purpose: 'test' }, ...input });
    assert.deepEqual(Object.keys(r).sort(), ['CiphertextBlob', 'KeyId', 'KeyMaterialId', 'Plaintext']);
    assert.equal(r['KeyId'], md.Arn);
    assert.equal(r['KeyMaterialId'], md.CurrentKeyMaterialId);
    const pt = unb64(r['Plaintext']);
    assert.equal(pt.length, size);
    const d = await h.call('Decrypt', { CiphertextBlob: r['CiphertextBlob'], EncryptionContext: { purpose: 'test' } });
    assert.deepEqual(unb64(d['Plaintext']), pt);
  }
  const a = await h.call('GenerateDataKey', { KeyId: md.KeyId, KeySpec: 'AES_256' });
  const b = await h.call('GenerateDataKey', { KeyId: md.KeyId, KeySpec: 'AES_256' });
  assert.notEqual(a['Plaintext'], b['Plaintext']);
});

test('GenerateDataKey: exactly one of KeySpec and NumberOfBytes', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('GenerateDataKey', { KeyId: md.KeyId }), 'ValidationException', 'Please specify either number of bytes or key spec.');
  await rejects(h.call('GenerateDataKey', { KeyId: md.KeyId, KeySpec: 'AES_256', NumberOfBytes: 32 }), 'ValidationException',
    'KeySpec and NumberOfBytes are mutually exclusive. Specify either KeySpec or NumberOfBytes, but not both.');
  await rejects(h.call('GenerateDataKey', { KeyId: md.KeyId, NumberOfBytes: 0 }), 'ValidationException',
    "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1");
  await rejects(h.call('GenerateDataKey', { KeyId: md.KeyId, NumberOfBytes: 1025 }), 'ValidationException',
    "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024");
  await rejects(h.call('GenerateDataKey', { KeyId: md.KeyId, KeySpec: 'AES_512' }), 'ValidationException',
    "1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]");
});

test('GenerateDataKey errors: key, states, DryRun', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('GenerateDataKey', { KeyId: MISSING_KEY_ID, KeySpec: 'AES_256' }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('GenerateDataKey', { KeyId: md.KeyId, KeySpec: 'AES_256', DryRun: true }), 'DryRunOperationException',
    'The request would have succeeded, but the DryRun option is set.');
  await rejects(h.call('GenerateDataKey', { KeyId: md.KeyId, KeySpec: 'AES_256', Recipient: { AttestationDocument: b64('x') } }),
    'UnsupportedOperationException', 'The Recipient parameter (attested enclaves) is not supported by rekey.');
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.call('GenerateDataKey', { KeyId: md.KeyId, KeySpec: 'AES_256' }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});
