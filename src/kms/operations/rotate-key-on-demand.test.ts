import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DAY, T0, b64, harness, rejects, unb64 } from '../testing.ts';

test('RotateKeyOnDemand: new material for new ciphertexts, old ciphertexts still decrypt and report their material', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('EnableKeyRotation', { KeyId: md.KeyId });
  const before = await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('old'), EncryptionContext: { v: '1' } });
  h.advance(DAY);
  assert.deepEqual(await h.call('RotateKeyOnDemand', { KeyId: md.KeyId }), { KeyId: md.Arn });
  const now = (await h.call('DescribeKey', { KeyId: md.KeyId }) as { KeyMetadata: { CurrentKeyMaterialId: string } }).KeyMetadata.CurrentKeyMaterialId;
  assert.notEqual(now, md.CurrentKeyMaterialId);
  assert.match(now, /^[0-9a-f]{64}$/);
  const after = await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('new') });
  const d1 = await h.call('Decrypt', { CiphertextBlob: before['CiphertextBlob'], EncryptionContext: { v: '1' } });
  assert.equal(unb64(d1['Plaintext']).toString(), 'old');
  assert.equal(d1['KeyMaterialId'], md.CurrentKeyMaterialId);
  const d2 = await h.call('Decrypt', { CiphertextBlob: after['CiphertextBlob'] });
  assert.equal(d2['KeyMaterialId'], now);
  // The automatic schedule did not move.
  assert.equal((await h.call('GetKeyRotationStatus', { KeyId: md.KeyId }))['NextRotationDate'], (T0 + 365 * DAY) / 1000);
});

test('RotateKeyOnDemand: a configurable per-key limit, then LimitExceededException', async () => {
  const h = await harness({ onDemandRotationLimit: 3 });
  const md = await h.createKey();
  const other = await h.createKey();
  for (let i = 0; i < 3; i++) await h.call('RotateKeyOnDemand', { KeyId: md.KeyId });
  await rejects(h.call('RotateKeyOnDemand', { KeyId: md.KeyId }), 'LimitExceededException', `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${md.Arn}`);
  await h.call('RotateKeyOnDemand', { KeyId: other.KeyId });
  const d = await harness();
  const k = await d.createKey();
  for (let i = 0; i < 10; i++) await d.call('RotateKeyOnDemand', { KeyId: k.Arn });
  await rejects(d.call('RotateKeyOnDemand', { KeyId: k.KeyId }), 'LimitExceededException', `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${k.Arn}`);
});

test('RotateKeyOnDemand errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('RotateKeyOnDemand', { KeyId: 'alias/x' }), 'NotFoundException', "Invalid keyId 'alias/x'");
  await h.call('DisableKey', { KeyId: md.KeyId });
  await rejects(h.call('RotateKeyOnDemand', { KeyId: md.KeyId }), 'DisabledException', `${md.Arn} is disabled.`);
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.call('RotateKeyOnDemand', { KeyId: md.KeyId }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});
