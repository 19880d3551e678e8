import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CIPHERTEXT_OVERHEAD } from '../ciphertext.ts';
import { MISSING_KEY_ID, aliasArnOf, arnOf, b64, harness, rejects, unb64 } from '../testing.ts';

test('Encrypt accepts every key identifier form and answers with the key ARN', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/enc', TargetKeyId: md.KeyId });
  for (const id of [md.KeyId, md.Arn, 'alias/enc', aliasArnOf('alias/enc')]) {
    const r = await h.call('Encrypt', { KeyId: id, Plaintext: b64('hello'), EncryptionContext: { tenant: 't1' } });
    assert.deepEqual(Object.keys(r).sort(), ['CiphertextBlob', 'EncryptionAlgorithm', 'KeyId']);
    assert.equal(r['KeyId'], md.Arn);
    assert.equal(r['EncryptionAlgorithm'], 'SYMMETRIC_DEFAULT');
    const blob = unb64(r['CiphertextBlob']);
    assert.equal(blob.length, 5 + CIPHERTEXT_OVERHEAD);
    const d = await h.call('Decrypt', { CiphertextBlob: r['CiphertextBlob'], EncryptionContext: { tenant: 't1' } });
    assert.equal(unb64(d['Plaintext']).toString(), 'hello');
  }
});

test('Encrypt: two encryptions of the same plaintext differ; 1 and 4096 bytes are the limits', async () => {
  const h = await harness();
  const md = await h.createKey();
  const a = await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('same') });
  const b = await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('same') });
  assert.notEqual(a['CiphertextBlob'], b['CiphertextBlob']);
  for (const n of [1, 4096]) {
    const pt = Buffer.alloc(n, 7);
    const r = await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64(pt), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    assert.deepEqual(unb64((await h.call('Decrypt', { CiphertextBlob: r['CiphertextBlob'] }))['Plaintext']), pt);
  }
});

test('Encrypt validation: plaintext size, base64, types, required members', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64(Buffer.alloc(4097)) }), 'ValidationException',
    "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096");
  await rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: '' }), 'ValidationException',
    "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1");
  await rejects(h.call('Encrypt', {}), 'ValidationException',
    "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; Value at 'plaintext' failed to satisfy constraint: Member must not be null");
  await rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: 'not base64!' }), 'SerializationException', "Invalid base64: 'plaintext' must be a base64-encoded string");
  await rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: 12 }), 'SerializationException', 'NUMBER_VALUE can not be converted to a Blob');
  await rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x'), EncryptionContext: { a: 1 } }), 'SerializationException', 'NUMBER_VALUE can not be converted to a String');
  await rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x'), EncryptionContext: 'a=b' }), 'SerializationException', 'STRING_VALUE can not be converted to a Map');
  await rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x'), EncryptionAlgorithm: 'AES' }), 'ValidationException',
    "1 validation error detected: Value 'AES' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]");
  await rejects(h.call('Encrypt', [1]), 'SerializationException', 'Start of list found where not expected.');
  await rejects(h.call('Encrypt', 'x'), 'SerializationException', 'STRING_VALUE can not be converted to a Structure');
});

test('Encrypt: unknown members and null members are ignored, as AWS does', async () => {
  const h = await harness();
  const md = await h.createKey();
  const r = await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x'), SomethingNew: { deep: [1] }, EncryptionContext: null, GrantTokens: null });
  assert.equal(r['KeyId'], md.Arn);
});

test('Encrypt errors: missing key, asymmetric algorithm, key states, DryRun', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('Encrypt', { KeyId: MISSING_KEY_ID, Plaintext: b64('x') }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('Encrypt', { KeyId: 'alias/none', Plaintext: b64('x') }), 'NotFoundException', `Alias ${aliasArnOf('alias/none')} is not found.`);
  await rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }), 'InvalidKeyUsageException',
    'Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.');
  await rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x'), DryRun: true }), 'DryRunOperationException',
    'The request would have succeeded, but the DryRun option is set.');
  await h.call('DisableKey', { KeyId: md.KeyId });
  await rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x'), DryRun: true }), 'DisabledException', `${md.Arn} is disabled.`);
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});
