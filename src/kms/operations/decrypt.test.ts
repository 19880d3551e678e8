import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INVALID_CIPHERTEXT_MESSAGE } from '../ciphertext.ts';
import { INCORRECT_KEY_MESSAGE } from '../envelope.ts';
import { MISSING_KEY_ID, aliasArnOf, arnOf, b64, harness, rejects, unb64 } from '../testing.ts';

const INVALID = INVALID_CIPHERTEXT_MESSAGE;

test('Decrypt returns the plaintext, the key ARN and the key material id', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/d', TargetKeyId: md.KeyId });
  const ct = await h.call('Encrypt', { KeyId: 'alias/d', Plaintext: b64('payload'), EncryptionContext: { a: '1', b: '2' } });
  const expected = { KeyId: md.Arn, Plaintext: b64('payload'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', KeyMaterialId: md.CurrentKeyMaterialId };
  // KeyId is optional; when given it may be any identifier form of the same key. Context order is irrelevant.
  for (const keyId of [undefined, md.KeyId, md.Arn, 'alias/d', aliasArnOf('alias/d')]) {
    const r = await h.call('Decrypt', { CiphertextBlob: ct['CiphertextBlob'], EncryptionContext: { b: '2', a: '1' }, ...(keyId ? { KeyId: keyId } : {}) });
    assert.deepEqual(r, expected);
  }
});

test('Decrypt with another key named in KeyId -> IncorrectKeyException', async () => {
  const h = await harness();
  const a = await h.createKey();
  const b = await h.createKey();
  const ct = await h.call('Encrypt', { KeyId: a.KeyId, Plaintext: b64('x') });
  await rejects(h.call('Decrypt', { CiphertextBlob: ct['CiphertextBlob'], KeyId: b.KeyId }), 'IncorrectKeyException', INCORRECT_KEY_MESSAGE);
  await rejects(h.call('Decrypt', { CiphertextBlob: ct['CiphertextBlob'], KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
});

test('Decrypt: flipping any single bit of any byte of the blob -> InvalidCiphertextException with the fixed message', async () => {
  const h = await harness();
  const md = await h.createKey();
  const ct = await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('tamper me'), EncryptionContext: { k: 'v' } });
  const blob = unb64(ct['CiphertextBlob']);
  for (let i = 0; i < blob.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const t = Buffer.from(blob);
      t[i]! ^= bit;
      await rejects(h.call('Decrypt', { CiphertextBlob: b64(t), EncryptionContext: { k: 'v' } }), 'InvalidCiphertextException', INVALID);
    }
  }
  // Truncated, extended and empty-ish blobs too.
  for (const t of [blob.subarray(0, blob.length - 1), Buffer.concat([blob, Buffer.from([0])]), blob.subarray(0, 10), Buffer.from([1])]) {
    await rejects(h.call('Decrypt', { CiphertextBlob: b64(t), EncryptionContext: { k: 'v' } }), 'InvalidCiphertextException', INVALID);
  }
  // With KeyId given, a changed key-id byte names another key: AWS answers IncorrectKeyException.
  const t = Buffer.from(blob);
  t[5]! ^= 1;
  await rejects(h.call('Decrypt', { CiphertextBlob: b64(t), EncryptionContext: { k: 'v' }, KeyId: md.KeyId }), 'IncorrectKeyException', INCORRECT_KEY_MESSAGE);
});

test('Decrypt: adding, removing or changing any encryption context pair -> the same InvalidCiphertextException', async () => {
  const h = await harness();
  const md = await h.createKey();
  const context = { tenant: 'acme', table: 'orders', 'ü': 'ß' };
  const ct = (await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x'), EncryptionContext: context }))['CiphertextBlob'];
  const variants: Record<string, string>[] = [
    {}, { tenant: 'acme', table: 'orders' }, { ...context, extra: '' }, { ...context, tenant: 'acmE' }, { ...context, table: '' },
    { tenant: 'acme', table: 'orders', 'u': 'ß' }, { tenantt: 'acme', table: 'orders', 'ü': 'ß' }, { tenant: 'acmetable', 'orders': '', 'ü': 'ß' },
  ];
  for (const ec of variants) {
    await rejects(h.call('Decrypt', { CiphertextBlob: ct, EncryptionContext: ec }), 'InvalidCiphertextException', INVALID);
  }
  const noContext = (await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') }))['CiphertextBlob'];
  await rejects(h.call('Decrypt', { CiphertextBlob: noContext, EncryptionContext: { a: 'b' } }), 'InvalidCiphertextException', INVALID);
  assert.equal(unb64((await h.call('Decrypt', { CiphertextBlob: noContext, EncryptionContext: {} }))['Plaintext']).toString(), 'x');
});

test('Decrypt: a blob from another rekey (unknown key) or a random blob -> InvalidCiphertextException', async () => {
  const h1 = await harness();
  const h2 = await harness();
  const md = await h1.createKey();
  const ct = await h1.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') });
  await rejects(h2.call('Decrypt', { CiphertextBlob: ct['CiphertextBlob'] }), 'InvalidCiphertextException', INVALID);
  await rejects(h2.call('Decrypt', { CiphertextBlob: b64(Buffer.alloc(200, 1)) }), 'InvalidCiphertextException', INVALID);
});

test('Decrypt: key states, algorithm, Recipient, DryRun, validation', async () => {
  const h = await harness();
  const md = await h.createKey();
  const ct = (await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') }))['CiphertextBlob'];
  await rejects(h.call('Decrypt', { CiphertextBlob: ct, DryRun: true }), 'DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  await rejects(h.call('Decrypt', { CiphertextBlob: ct, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }), 'InvalidKeyUsageException',
    'Algorithm RSAES_OAEP_SHA_1 is incompatible with key spec SYMMETRIC_DEFAULT.');
  await rejects(h.call('Decrypt', { CiphertextBlob: ct, Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: b64('doc') } }),
    'UnsupportedOperationException', 'The Recipient parameter (attested enclaves) is not supported by rekey.');
  await rejects(h.call('Decrypt', {}), 'ValidationException',
    "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null");
  await rejects(h.call('Decrypt', { CiphertextBlob: b64(Buffer.alloc(6145)) }), 'ValidationException',
    "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: Member must have length less than or equal to 6144");
  await h.call('DisableKey', { KeyId: md.KeyId });
  await rejects(h.call('Decrypt', { CiphertextBlob: ct }), 'DisabledException', `${md.Arn} is disabled.`);
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.call('Decrypt', { CiphertextBlob: ct }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
  await h.call('CancelKeyDeletion', { KeyId: md.KeyId });
  await h.call('EnableKey', { KeyId: md.KeyId });
  assert.equal(unb64((await h.call('Decrypt', { CiphertextBlob: ct }))['Plaintext']).toString(), 'x');
});

test('Decrypt DryRun with IGNORE_CIPHERTEXT checks only the named key', async () => {
  const h = await harness();
  const md = await h.createKey();
  const dry = { DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] };
  await rejects(h.call('Decrypt', { ...dry, KeyId: md.KeyId }), 'DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  await rejects(h.call('Decrypt', dry), 'ValidationException',
    "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");
  await rejects(h.call('Decrypt', { DryRun: true, KeyId: md.KeyId }), 'ValidationException',
    "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null");
  await rejects(h.call('Decrypt', { ...dry, DryRunModifiers: ['OTHER'], KeyId: md.KeyId }), 'ValidationException',
    "1 validation error detected: Value 'OTHER' at 'dryRunModifiers.1.member' failed to satisfy constraint: Member must satisfy enum value set: [IGNORE_CIPHERTEXT]");
  await h.call('DisableKey', { KeyId: md.KeyId });
  await rejects(h.call('Decrypt', { ...dry, KeyId: md.KeyId }), 'DisabledException', `${md.Arn} is disabled.`);
});
