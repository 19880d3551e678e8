import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INVALID_CIPHERTEXT_MESSAGE } from '../ciphertext.ts';
import { INCORRECT_KEY_MESSAGE } from '../envelope.ts';
import { MISSING_KEY_ID, arnOf, b64, harness, rejects, unb64 } from '../testing.ts';

test('ReEncrypt moves a ciphertext to another key and context without exposing the plaintext', async () => {
  const h = await harness();
  const src = await h.createKey();
  const dst = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/dst', TargetKeyId: dst.KeyId });
  const ct = await h.call('Encrypt', { KeyId: src.KeyId, Plaintext: b64('move me'), EncryptionContext: { v: '1' } });
  const r = await h.call('ReEncrypt', {
    CiphertextBlob: ct['CiphertextBlob'], SourceEncryptionContext: { v: '1' }, SourceKeyId: src.KeyId,
    DestinationKeyId: 'alias/dst', DestinationEncryptionContext: { v: '2' },
  });
  assert.deepEqual(Object.keys(r).sort(), ['CiphertextBlob', 'DestinationEncryptionAlgorithm', 'DestinationKeyMaterialId', 'KeyId',
    'SourceEncryptionAlgorithm', 'SourceKeyId', 'SourceKeyMaterialId']);
  assert.equal(r['SourceKeyId'], src.Arn);
  assert.equal(r['KeyId'], dst.Arn);
  assert.equal(r['SourceEncryptionAlgorithm'], 'SYMMETRIC_DEFAULT');
  assert.equal(r['DestinationEncryptionAlgorithm'], 'SYMMETRIC_DEFAULT');
  assert.equal(r['SourceKeyMaterialId'], src.CurrentKeyMaterialId);
  assert.equal(r['DestinationKeyMaterialId'], dst.CurrentKeyMaterialId);
  const d = await h.call('Decrypt', { CiphertextBlob: r['CiphertextBlob'], EncryptionContext: { v: '2' } });
  assert.equal(unb64(d['Plaintext']).toString(), 'move me');
  assert.equal(d['KeyId'], dst.Arn);
  await rejects(h.call('Decrypt', { CiphertextBlob: r['CiphertextBlob'], EncryptionContext: { v: '1' } }), 'InvalidCiphertextException', INVALID_CIPHERTEXT_MESSAGE);
});

test('ReEncrypt to the same key after a rotation moves the ciphertext to the new material', async () => {
  const h = await harness();
  const k = await h.createKey();
  const ct = await h.call('Encrypt', { KeyId: k.KeyId, Plaintext: b64('x') });
  await h.call('RotateKeyOnDemand', { KeyId: k.KeyId });
  const now = (await h.call('DescribeKey', { KeyId: k.KeyId }) as { KeyMetadata: { CurrentKeyMaterialId: string } }).KeyMetadata.CurrentKeyMaterialId;
  const r = await h.call('ReEncrypt', { CiphertextBlob: ct['CiphertextBlob'], DestinationKeyId: k.KeyId });
  assert.equal(r['SourceKeyMaterialId'], k.CurrentKeyMaterialId);
  assert.equal(r['DestinationKeyMaterialId'], now);
  assert.notEqual(now, k.CurrentKeyMaterialId);
});

test('ReEncrypt errors', async () => {
  const h = await harness();
  const a = await h.createKey();
  const b = await h.createKey();
  const ct = (await h.call('Encrypt', { KeyId: a.KeyId, Plaintext: b64('x'), EncryptionContext: { c: 'd' } }))['CiphertextBlob'];
  await rejects(h.call('ReEncrypt', { CiphertextBlob: ct, SourceEncryptionContext: { c: 'd' }, SourceKeyId: b.KeyId, DestinationKeyId: b.KeyId }), 'IncorrectKeyException', INCORRECT_KEY_MESSAGE);
  await rejects(h.call('ReEncrypt', { CiphertextBlob: ct, DestinationKeyId: b.KeyId }), 'InvalidCiphertextException', INVALID_CIPHERTEXT_MESSAGE);
  await rejects(h.call('ReEncrypt', { CiphertextBlob: ct, SourceEncryptionContext: { c: 'd' }, DestinationKeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('ReEncrypt', { CiphertextBlob: ct }), 'ValidationException',
    "1 validation error detected: Value null at 'destinationKeyId' failed to satisfy constraint: Member must not be null");
  await rejects(h.call('ReEncrypt', { CiphertextBlob: ct, SourceEncryptionContext: { c: 'd' }, DestinationKeyId: b.KeyId, DestinationEncryptionAlgorithm: 'SM2PKE' }),
    'InvalidKeyUsageException', 'Algorithm SM2PKE is incompatible with key spec SYMMETRIC_DEFAULT.');
  await rejects(h.call('ReEncrypt', { CiphertextBlob: ct, SourceEncryptionContext: { c: 'd' }, DestinationKeyId: b.KeyId, DryRun: true }),
    'DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  await h.call('DisableKey', { KeyId: b.KeyId });
  await rejects(h.call('ReEncrypt', { CiphertextBlob: ct, SourceEncryptionContext: { c: 'd' }, DestinationKeyId: b.KeyId }), 'DisabledException', `${b.Arn} is disabled.`);
  await h.call('DisableKey', { KeyId: a.KeyId });
  await rejects(h.call('ReEncrypt', { CiphertextBlob: ct, SourceEncryptionContext: { c: 'd' }, DestinationKeyId: b.KeyId }), 'DisabledException', `${a.Arn} is disabled.`);
});

test('ReEncrypt DryRun with IGNORE_CIPHERTEXT checks the source and destination keys only', async () => {
  const h = await harness();
  const a = await h.createKey();
  const b = await h.createKey();
  const dry = { DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] };
  await rejects(h.call('ReEncrypt', { ...dry, SourceKeyId: a.KeyId, DestinationKeyId: b.KeyId }), 'DryRunOperationException',
    'The request would have succeeded, but the DryRun option is set.');
  await rejects(h.call('ReEncrypt', { ...dry, DestinationKeyId: b.KeyId }), 'ValidationException',
    "1 validation error detected: Value null at 'sourceKeyId' failed to satisfy constraint: Member must not be null");
  await rejects(h.call('ReEncrypt', { DestinationKeyId: b.KeyId }), 'ValidationException',
    "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null");
  await h.call('DisableKey', { KeyId: b.KeyId });
  await rejects(h.call('ReEncrypt', { ...dry, SourceKeyId: a.KeyId, DestinationKeyId: b.KeyId }), 'DisabledException', `${b.Arn} is disabled.`);
});
