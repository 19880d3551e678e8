// Every KMS operation of issue 2 through the real @aws-sdk/client-kms against the real server on a
// random port: success paths, and error names AND messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as K from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { rejects } from '../src/kms/testing.ts';

let s: TestServer;
let kms: K.KMSClient;
before(async () => { s = await startTestServer(); kms = s.kmsClient(); });
after(async () => { await s.cleanup(); });


async function newKey(description = 'test'): Promise<K.KeyMetadata> {
  return (await kms.send(new K.CreateKeyCommand({ Description: description }))).KeyMetadata!;
}

test('CreateKey / DescribeKey / ListKeys / UpdateKeyDescription', async () => {
  const md = await newKey('first');
  assert.match(md.KeyId!, /^[0-9a-f-]{36}$/);
  assert.equal(md.Arn, `arn:aws:kms:us-east-1:111122223333:key/${md.KeyId}`);
  assert.equal(md.KeyState, 'Enabled');
  assert.equal(md.Enabled, true);
  assert.equal(md.KeySpec, 'SYMMETRIC_DEFAULT');
  assert.equal(md.KeyUsage, 'ENCRYPT_DECRYPT');
  assert.equal(md.KeyManager, 'CUSTOMER');
  assert.equal(md.Origin, 'AWS_KMS');
  assert.deepEqual(md.EncryptionAlgorithms, ['SYMMETRIC_DEFAULT']);
  assert.match(md.CurrentKeyMaterialId!, /^[0-9a-f]{64}$/);
  assert.ok(md.CreationDate instanceof Date);

  const d = (await kms.send(new K.DescribeKeyCommand({ KeyId: md.Arn }))).KeyMetadata!;
  assert.equal(d.Description, 'first');
  await kms.send(new K.UpdateKeyDescriptionCommand({ KeyId: md.KeyId, Description: 'renamed' }));
  assert.equal((await kms.send(new K.DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata!.Description, 'renamed');

  const listed = await kms.send(new K.ListKeysCommand({}));
  assert.ok(listed.Keys!.some((k) => k.KeyId === md.KeyId && k.KeyArn === md.Arn));

  await rejects(kms.send(new K.DescribeKeyCommand({ KeyId: '00000000-0000-0000-0000-000000000000' })), 'NotFoundException', /does not exist/);
  await rejects(kms.send(new K.DescribeKeyCommand({ KeyId: 'not-a-key' })), 'NotFoundException', "Invalid keyId 'not-a-key'");
  await rejects(kms.send(new K.CreateKeyCommand({ KeySpec: 'RSA_2048' })), 'UnsupportedOperationException');
  await rejects(kms.send(new K.CreateKeyCommand({ Description: 'x'.repeat(8193) })), 'ValidationException', /at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192/);
});

test('ListKeys pagination with Limit and Marker', async () => {
  for (let i = 0; i < 5; i++) await newKey('page');
  const seen = new Set<string>();
  let marker: string | undefined;
  let pages = 0;
  do {
    const r = await kms.send(new K.ListKeysCommand({ Limit: 2, ...(marker ? { Marker: marker } : {}) }));
    assert.ok(r.Keys!.length <= 2);
    for (const k of r.Keys!) { assert.ok(!seen.has(k.KeyId!)); seen.add(k.KeyId!); }
    marker = r.Truncated ? r.NextMarker : undefined;
    pages++;
  } while (marker);
  assert.ok(seen.size >= 5 && pages >= 3);
  await rejects(kms.send(new K.ListKeysCommand({ Marker: 'bogus' })), 'InvalidMarkerException');
  await rejects(kms.send(new K.ListKeysCommand({ Limit: 0 })), 'ValidationException', /at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1/);
});

test('Encrypt / Decrypt / ReEncrypt with encryption context, by id, ARN, alias name and alias ARN', async () => {
  const a = await newKey('a');
  const b = await newKey('b');
  await kms.send(new K.CreateAliasCommand({ AliasName: 'alias/sdk-a', TargetKeyId: a.KeyId }));
  const ctx = { tenant: 'acme', purpose: 'test' };
  for (const keyId of [a.KeyId!, a.Arn!, 'alias/sdk-a', 'arn:aws:kms:us-east-1:111122223333:alias/sdk-a']) {
    const e = await kms.send(new K.EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('hello'), EncryptionContext: ctx }));
    assert.equal(e.KeyId, a.Arn);
    assert.equal(e.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    const d = await kms.send(new K.DecryptCommand({ CiphertextBlob: e.CiphertextBlob, EncryptionContext: ctx }));
    assert.equal(Buffer.from(d.Plaintext!).toString(), 'hello');
    assert.equal(d.KeyId, a.Arn);
    assert.equal(d.KeyMaterialId, a.CurrentKeyMaterialId);
  }
  const e = await kms.send(new K.EncryptCommand({ KeyId: a.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: ctx }));
  await rejects(kms.send(new K.DecryptCommand({ CiphertextBlob: e.CiphertextBlob, EncryptionContext: ctx, KeyId: b.KeyId })), 'IncorrectKeyException');
  await rejects(kms.send(new K.DecryptCommand({ CiphertextBlob: e.CiphertextBlob })), 'InvalidCiphertextException');
  const re = await kms.send(new K.ReEncryptCommand({ CiphertextBlob: e.CiphertextBlob, SourceEncryptionContext: ctx, DestinationKeyId: b.KeyId, DestinationEncryptionContext: { other: '1' } }));
  assert.equal(re.SourceKeyId, a.Arn);
  assert.equal(re.KeyId, b.Arn);
  assert.equal(re.SourceKeyMaterialId, a.CurrentKeyMaterialId);
  assert.equal(re.DestinationKeyMaterialId, b.CurrentKeyMaterialId);
  const back = await kms.send(new K.DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { other: '1' } }));
  assert.equal(Buffer.from(back.Plaintext!).toString(), 'x');

  await kms.send(new K.EncryptCommand({ KeyId: a.KeyId, Plaintext: Buffer.alloc(4096, 1) }));
  await rejects(kms.send(new K.EncryptCommand({ KeyId: a.KeyId, Plaintext: Buffer.alloc(4097, 1) })), 'ValidationException', /at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096/);
  await rejects(kms.send(new K.EncryptCommand({ KeyId: a.KeyId, Plaintext: Buffer.alloc(0) })), 'ValidationException', /at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1/);
});

test('GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom', async () => {
  const k = await newKey();
  const g = await kms.send(new K.GenerateDataKeyCommand({ KeyId: k.KeyId, KeySpec: 'AES_256' }));
  assert.equal(g.Plaintext!.length, 32);
  assert.equal(g.KeyId, k.Arn);
  const d = await kms.send(new K.DecryptCommand({ CiphertextBlob: g.CiphertextBlob }));
  assert.deepEqual(Buffer.from(d.Plaintext!), Buffer.from(g.Plaintext!));
  assert.equal((await kms.send(new K.GenerateDataKeyCommand({ KeyId: k.KeyId, KeySpec: 'AES_128' }))).Plaintext!.length, 16);
  assert.equal((await kms.send(new K.GenerateDataKeyCommand({ KeyId: k.KeyId, NumberOfBytes: 64 }))).Plaintext!.length, 64);
  await rejects(kms.send(new K.GenerateDataKeyCommand({ KeyId: k.KeyId, KeySpec: 'AES_256', NumberOfBytes: 32 })), 'ValidationException', /mutually exclusive/);
  await rejects(kms.send(new K.GenerateDataKeyCommand({ KeyId: k.KeyId })), 'ValidationException', 'Please specify either number of bytes or key spec.');
  const w = await kms.send(new K.GenerateDataKeyWithoutPlaintextCommand({ KeyId: k.KeyId, KeySpec: 'AES_256', EncryptionContext: { a: 'b' } }));
  assert.equal((w as any).Plaintext, undefined);
  assert.equal((await kms.send(new K.DecryptCommand({ CiphertextBlob: w.CiphertextBlob, EncryptionContext: { a: 'b' } }))).Plaintext!.length, 32);
  const r = await kms.send(new K.GenerateRandomCommand({ NumberOfBytes: 1024 }));
  assert.equal(r.Plaintext!.length, 1024);
  await rejects(kms.send(new K.GenerateRandomCommand({ NumberOfBytes: 1025 })), 'ValidationException', /Member must have value less than or equal to 1024/);
  await rejects(kms.send(new K.GenerateRandomCommand({ NumberOfBytes: 0 })), 'ValidationException', /Member must have value greater than or equal to 1/);
});

test('key states: DisableKey, EnableKey, ScheduleKeyDeletion, CancelKeyDeletion', async () => {
  const k = await newKey();
  const ct = (await kms.send(new K.EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('s') }))).CiphertextBlob!;
  await kms.send(new K.DisableKeyCommand({ KeyId: k.KeyId }));
  assert.equal((await kms.send(new K.DescribeKeyCommand({ KeyId: k.KeyId }))).KeyMetadata!.KeyState, 'Disabled');
  await rejects(kms.send(new K.EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('s') })), 'DisabledException', `${k.Arn} is disabled.`);
  await rejects(kms.send(new K.DecryptCommand({ CiphertextBlob: ct })), 'DisabledException', `${k.Arn} is disabled.`);
  await kms.send(new K.EnableKeyCommand({ KeyId: k.KeyId }));
  await kms.send(new K.DecryptCommand({ CiphertextBlob: ct }));

  await rejects(kms.send(new K.ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 6 })), 'ValidationException', /PendingWindowInDays|pendingWindowInDays/);
  await rejects(kms.send(new K.ScheduleKeyDeletionCommand({ KeyId: k.KeyId, PendingWindowInDays: 31 })), 'ValidationException');
  const before = Date.now();
  const del = await kms.send(new K.ScheduleKeyDeletionCommand({ KeyId: k.KeyId }));
  assert.equal(del.KeyId, k.Arn);
  assert.equal(del.KeyState, 'PendingDeletion');
  assert.equal(del.PendingWindowInDays, 30);
  const expected = before + 30 * 86400_000;
  assert.ok(Math.abs(del.DeletionDate!.getTime() - expected) < 86400_000, `${del.DeletionDate!.toISOString()}`);
  await rejects(kms.send(new K.EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('s') })), 'KMSInvalidStateException', `${k.Arn} is pending deletion.`);
  await rejects(kms.send(new K.DecryptCommand({ CiphertextBlob: ct })), 'KMSInvalidStateException', `${k.Arn} is pending deletion.`);
  await rejects(kms.send(new K.EnableKeyCommand({ KeyId: k.KeyId })), 'KMSInvalidStateException');
  const c = await kms.send(new K.CancelKeyDeletionCommand({ KeyId: k.KeyId }));
  assert.equal(c.KeyId, k.Arn);
  const md = (await kms.send(new K.DescribeKeyCommand({ KeyId: k.KeyId }))).KeyMetadata!;
  assert.equal(md.KeyState, 'Disabled');
  assert.equal(md.DeletionDate, undefined);
  await rejects(kms.send(new K.CancelKeyDeletionCommand({ KeyId: k.KeyId })), 'KMSInvalidStateException');
  // AWS: EnableKey/DisableKey/ScheduleKeyDeletion take a key id or key ARN, not an alias
  await kms.send(new K.CreateAliasCommand({ AliasName: 'alias/state', TargetKeyId: k.KeyId }));
  await rejects(kms.send(new K.EnableKeyCommand({ KeyId: 'alias/state' })), 'NotFoundException');
});

test('aliases: create, update, delete, list, reserved and duplicate names', async () => {
  const a = await newKey();
  const b = await newKey();
  await kms.send(new K.CreateAliasCommand({ AliasName: 'alias/al-1', TargetKeyId: a.KeyId }));
  await rejects(kms.send(new K.CreateAliasCommand({ AliasName: 'alias/al-1', TargetKeyId: b.KeyId })), 'AlreadyExistsException', /already exists/);
  await rejects(kms.send(new K.CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: a.KeyId })), 'NotAuthorizedException');
  await rejects(kms.send(new K.CreateAliasCommand({ AliasName: 'noprefix', TargetKeyId: a.KeyId })), 'ValidationException');
  await rejects(kms.send(new K.CreateAliasCommand({ AliasName: 'alias/x', TargetKeyId: 'alias/al-1' })), 'ValidationException', 'Aliases must refer to keys. Not aliases');
  let list = await kms.send(new K.ListAliasesCommand({ KeyId: a.KeyId }));
  assert.deepEqual(list.Aliases!.map((x) => x.AliasName), ['alias/al-1']);
  assert.equal(list.Aliases![0]!.AliasArn, 'arn:aws:kms:us-east-1:111122223333:alias/al-1');
  assert.equal(list.Aliases![0]!.TargetKeyId, a.KeyId);
  await kms.send(new K.UpdateAliasCommand({ AliasName: 'alias/al-1', TargetKeyId: b.KeyId }));
  assert.equal((await kms.send(new K.DescribeKeyCommand({ KeyId: 'alias/al-1' }))).KeyMetadata!.KeyId, b.KeyId);
  list = await kms.send(new K.ListAliasesCommand({ KeyId: a.KeyId }));
  assert.equal(list.Aliases!.length, 0);
  await kms.send(new K.DeleteAliasCommand({ AliasName: 'alias/al-1' }));
  await rejects(kms.send(new K.DescribeKeyCommand({ KeyId: 'alias/al-1' })), 'NotFoundException');
  await rejects(kms.send(new K.DeleteAliasCommand({ AliasName: 'alias/al-1' })), 'NotFoundException');
});

test('tags: TagResource, UntagResource, ListResourceTags', async () => {
  const k = await newKey();
  await kms.send(new K.TagResourceCommand({ KeyId: k.KeyId, Tags: [{ TagKey: 'env', TagValue: 'prod' }, { TagKey: 'team', TagValue: 'sec' }] }));
  let t = await kms.send(new K.ListResourceTagsCommand({ KeyId: k.KeyId }));
  assert.deepEqual(t.Tags!.map((x) => `${x.TagKey}=${x.TagValue}`).sort(), ['env=prod', 'team=sec']);
  await kms.send(new K.UntagResourceCommand({ KeyId: k.KeyId, TagKeys: ['env'] }));
  t = await kms.send(new K.ListResourceTagsCommand({ KeyId: k.KeyId }));
  assert.deepEqual(t.Tags!.map((x) => x.TagKey), ['team']);
  await rejects(kms.send(new K.TagResourceCommand({ KeyId: k.KeyId, Tags: [{ TagKey: 'aws:x', TagValue: 'y' }] })), 'TagException');
  const many = Array.from({ length: 51 }, (_, i) => ({ TagKey: `k${i}`, TagValue: 'v' }));
  // AWS: TagException "Too many tags" (test_kms.snapshot.json, test_create_key_with_too_many_tags_raises_error)
  await rejects(kms.send(new K.TagResourceCommand({ KeyId: k.KeyId, Tags: many })), 'TagException', 'Too many tags');
});

test('key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies', async () => {
  const k = await newKey();
  const p = await kms.send(new K.GetKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default' }));
  const doc = JSON.parse(p.Policy!);
  assert.equal(doc.Version, '2012-10-17');
  assert.equal(doc.Statement[0].Principal.AWS, 'arn:aws:iam::111122223333:root');
  assert.deepEqual((await kms.send(new K.ListKeyPoliciesCommand({ KeyId: k.KeyId }))).PolicyNames, ['default']);
  const mine = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'a', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' }] });
  await kms.send(new K.PutKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default', Policy: mine }));
  assert.equal((await kms.send(new K.GetKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default' }))).Policy, mine);
  await rejects(kms.send(new K.PutKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default', Policy: '{not json' })), 'MalformedPolicyDocumentException');
  await rejects(kms.send(new K.PutKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'default', Policy: '{"Statement": []}' })), 'MalformedPolicyDocumentException');
  await rejects(kms.send(new K.GetKeyPolicyCommand({ KeyId: k.KeyId, PolicyName: 'other' })), 'NotFoundException');
});

test('rotation: EnableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations, limit', async () => {
  const k = await newKey();
  let st = await kms.send(new K.GetKeyRotationStatusCommand({ KeyId: k.KeyId }));
  assert.equal(st.KeyRotationEnabled, false);
  await rejects(kms.send(new K.EnableKeyRotationCommand({ KeyId: k.KeyId, RotationPeriodInDays: 89 })), 'ValidationException', /rotationPeriodInDays/);
  await rejects(kms.send(new K.EnableKeyRotationCommand({ KeyId: k.KeyId, RotationPeriodInDays: 2561 })), 'ValidationException', /rotationPeriodInDays/);
  const t0 = Date.now();
  await kms.send(new K.EnableKeyRotationCommand({ KeyId: k.KeyId }));
  st = await kms.send(new K.GetKeyRotationStatusCommand({ KeyId: k.KeyId }));
  assert.equal(st.KeyRotationEnabled, true);
  assert.equal(st.RotationPeriodInDays, 365);
  assert.equal(st.KeyId, k.Arn);
  assert.ok(Math.abs(st.NextRotationDate!.getTime() - (t0 + 365 * 86400_000)) < 86400_000);
  const next = st.NextRotationDate!.getTime();

  const ct = (await kms.send(new K.EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('before') }))).CiphertextBlob!;
  await kms.send(new K.RotateKeyOnDemandCommand({ KeyId: k.KeyId }));
  st = await kms.send(new K.GetKeyRotationStatusCommand({ KeyId: k.KeyId }));
  assert.equal(st.NextRotationDate!.getTime(), next, 'on-demand rotation does not move the automatic schedule');
  // AWS: OnDemandRotationStartDate is shown only while an on-demand rotation is in progress; ours completes in the call.
  assert.equal(st.OnDemandRotationStartDate, undefined);
  const md = (await kms.send(new K.DescribeKeyCommand({ KeyId: k.KeyId }))).KeyMetadata!;
  assert.notEqual(md.CurrentKeyMaterialId, k.CurrentKeyMaterialId);
  const d = await kms.send(new K.DecryptCommand({ CiphertextBlob: ct }));
  assert.equal(Buffer.from(d.Plaintext!).toString(), 'before');
  assert.equal(d.KeyMaterialId, k.CurrentKeyMaterialId);
  const e2 = await kms.send(new K.EncryptCommand({ KeyId: k.KeyId, Plaintext: Buffer.from('after') }));
  assert.equal((await kms.send(new K.DecryptCommand({ CiphertextBlob: e2.CiphertextBlob }))).KeyMaterialId, md.CurrentKeyMaterialId);

  const rot = await kms.send(new K.ListKeyRotationsCommand({ KeyId: k.KeyId }));
  assert.equal(rot.Rotations!.length, 1);
  assert.equal(rot.Rotations![0]!.RotationType, 'ON_DEMAND');
  assert.equal(rot.Rotations![0]!.KeyMaterialId, md.CurrentKeyMaterialId);
  assert.equal(rot.Rotations![0]!.KeyId, k.KeyId); // AWS's example shows the key id here

  for (let i = 1; i < 10; i++) await kms.send(new K.RotateKeyOnDemandCommand({ KeyId: k.KeyId }));
  // message: LocalStack tests/aws/services/kms/test_kms.snapshot.json, test_key_rotations_limits "error-response"
  await rejects(kms.send(new K.RotateKeyOnDemandCommand({ KeyId: k.KeyId })), 'LimitExceededException', `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${k.Arn}`);
  await kms.send(new K.DisableKeyRotationCommand({ KeyId: k.KeyId }));
  assert.equal((await kms.send(new K.GetKeyRotationStatusCommand({ KeyId: k.KeyId }))).KeyRotationEnabled, false);
});
