import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT, REGION, T0, arnOf, harness, rejects } from '../testing.ts';

test('CreateKey creates an enabled symmetric key with AWS KeyMetadata', async () => {
  const h = await harness();
  const md = await h.createKey({ Description: 'orders db', Tags: [{ TagKey: 'team', TagValue: 'payments' }] });
  assert.match(md.KeyId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.deepEqual(md, {
    AWSAccountId: ACCOUNT,
    KeyId: md.KeyId,
    Arn: arnOf(md.KeyId),
    CreationDate: T0 / 1000,
    Enabled: true,
    Description: 'orders db',
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: 'Enabled',
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
    CurrentKeyMaterialId: md.CurrentKeyMaterialId,
  });
  assert.match(md.CurrentKeyMaterialId, /^[0-9a-f]{64}$/);
  const tags = await h.call('ListResourceTags', { KeyId: md.KeyId });
  assert.deepEqual(tags['Tags'], [{ TagKey: 'team', TagValue: 'payments' }]);
});

test('CreateKey with no input: empty description, default key policy for the account root', async () => {
  const h = await harness();
  const md = await h.createKey();
  assert.equal(md.Description, '');
  const p = await h.call('GetKeyPolicy', { KeyId: md.KeyId });
  assert.deepEqual(JSON.parse(String(p['Policy'])), {
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
  });
  assert.equal(REGION, 'us-east-1');
});

test('CreateKey accepts explicit SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT / AWS_KMS and a custom policy', async () => {
  const h = await harness();
  // A policy that does not let the caller change it again: accepted only with the bypass flag.
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: ['kms:Encrypt', 'kms:GetKeyPolicy'], Resource: '*' }] });
  await rejects(h.createKey({ Policy: policy }), 'MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.');
  const md = await h.createKey({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Origin: 'AWS_KMS', MultiRegion: false, Policy: policy, BypassPolicyLockoutSafetyCheck: true });
  assert.equal((await h.call('GetKeyPolicy', { KeyId: md.KeyId }))['Policy'], policy);
  const md2 = await h.createKey({ CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT' });
  assert.equal(md2.KeySpec, 'SYMMETRIC_DEFAULT');
});

test('CreateKey rejects what rekey does not support', async () => {
  const h = await harness();
  await rejects(h.call('CreateKey', { KeySpec: 'RSA_2048' }), 'UnsupportedOperationException',
    'KeySpec RSA_2048 is not supported. rekey supports symmetric encryption keys (SYMMETRIC_DEFAULT) only.');
  await rejects(h.call('CreateKey', { CustomerMasterKeySpec: 'HMAC_256' }), 'UnsupportedOperationException',
    'KeySpec HMAC_256 is not supported. rekey supports symmetric encryption keys (SYMMETRIC_DEFAULT) only.');
  await rejects(h.call('CreateKey', { KeySpec: 'SYMMETRIC_DEFAULT', CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT' }), 'ValidationException',
    'You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.');
  await rejects(h.call('CreateKey', { KeyUsage: 'SIGN_VERIFY' }), 'ValidationException', 'KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT.');
  await rejects(h.call('CreateKey', { Origin: 'EXTERNAL' }), 'UnsupportedOperationException',
    'Origin EXTERNAL is not supported. rekey generates key material itself (Origin AWS_KMS).');
  await rejects(h.call('CreateKey', { MultiRegion: true }), 'UnsupportedOperationException', 'Multi-Region keys are not supported by rekey.');
  await rejects(h.call('CreateKey', { CustomKeyStoreId: 'cks-1234567890abcdef0' }), 'UnsupportedOperationException', 'Custom key stores are not supported by rekey.');
});

test('CreateKey validates members against the service model', async () => {
  const h = await harness();
  await rejects(h.call('CreateKey', { KeySpec: 'AES_256' }), 'ValidationException',
    /^1 validation error detected: Value 'AES_256' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: \[RSA_2048, .*SYMMETRIC_DEFAULT.*\]$/);
  await rejects(h.call('CreateKey', { Description: 'd'.repeat(8193) }), 'ValidationException',
    `1 validation error detected: Value '${'d'.repeat(8193)}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192`);
  await rejects(h.call('CreateKey', { Tags: [{ TagKey: 'k'.repeat(129), TagValue: 'v' }] }), 'ValidationException',
    `1 validation error detected: Value '${'k'.repeat(129)}' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128`);
  await rejects(h.call('CreateKey', { Tags: [{ TagKey: 'a', TagValue: 'b' }, { TagKey: 'c' }] }), 'ValidationException',
    "1 validation error detected: Value null at 'tags.2.member.tagValue' failed to satisfy constraint: Member must not be null");
  await rejects(h.call('CreateKey', { MultiRegion: 'yes' }), 'SerializationException', 'STRING_VALUE can not be converted to a Boolean');
  await rejects(h.call('CreateKey', { Tags: { TagKey: 'a' } }), 'SerializationException', 'Start of structure or map found where not expected.');
  await rejects(h.call('CreateKey', { Description: ['x'] }), 'SerializationException', 'Start of list found where not expected.');
});

test('CreateKey checks tags and the policy document', async () => {
  const h = await harness();
  await rejects(h.call('CreateKey', { Tags: [{ TagKey: 'aws:owner', TagValue: 'x' }] }), 'TagException', 'Tags beginning with aws: are reserved');
  await rejects(h.call('CreateKey', { Tags: [{ TagKey: 'AWS:x', TagValue: 'x' }] }), 'TagException', 'Tags beginning with aws: are reserved');
  await rejects(h.call('CreateKey', { Tags: [{ TagKey: 'a', TagValue: '1' }, { TagKey: 'a', TagValue: '2' }] }), 'TagException', 'Duplicate tag keys');
  const many = Array.from({ length: 51 }, (_, i) => ({ TagKey: `k${i}`, TagValue: '' }));
  await rejects(h.call('CreateKey', { Tags: many }), 'TagException', 'Too many tags');
  await rejects(h.call('CreateKey', { Policy: '{not json' }), 'MalformedPolicyDocumentException', 'Syntax errors in policy.');
  await rejects(h.call('CreateKey', { Policy: '{"Version":"2012-10-17"}' }), 'MalformedPolicyDocumentException', 'Missing required field Statement');
  // Nothing was created by the failed calls.
  assert.deepEqual((await h.call('ListKeys'))['Keys'], []);
});
