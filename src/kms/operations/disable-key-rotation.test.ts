import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_KEY_ID, arnOf, harness, rejects } from '../testing.ts';

test('DisableKeyRotation turns automatic rotation off (twice is fine)', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('EnableKeyRotation', { KeyId: md.KeyId });
  assert.deepEqual(await h.call('DisableKeyRotation', { KeyId: md.KeyId }), {});
  await h.call('DisableKeyRotation', { KeyId: md.Arn });
  assert.deepEqual(await h.call('GetKeyRotationStatus', { KeyId: md.KeyId }), { KeyRotationEnabled: false, KeyId: md.Arn });
  // On-demand rotation does not need automatic rotation.
  await h.call('RotateKeyOnDemand', { KeyId: md.KeyId });
});

test('DisableKeyRotation errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('DisableKeyRotation', { KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await h.call('DisableKey', { KeyId: md.KeyId });
  await rejects(h.call('DisableKeyRotation', { KeyId: md.KeyId }), 'DisabledException', `${md.Arn} is disabled.`);
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.call('DisableKeyRotation', { KeyId: md.KeyId }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});
