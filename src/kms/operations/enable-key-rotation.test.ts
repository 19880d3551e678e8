import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DAY, MISSING_KEY_ID, T0, arnOf, harness, rejects } from '../testing.ts';

test('EnableKeyRotation: default period 365 days, NextRotationDate = now + period', async () => {
  const h = await harness();
  const md = await h.createKey();
  assert.deepEqual(await h.call('EnableKeyRotation', { KeyId: md.KeyId }), {});
  assert.deepEqual(await h.call('GetKeyRotationStatus', { KeyId: md.KeyId }), {
    KeyRotationEnabled: true, KeyId: md.Arn, RotationPeriodInDays: 365, NextRotationDate: (T0 + 365 * DAY) / 1000,
  });
  h.advance(DAY);
  await h.call('EnableKeyRotation', { KeyId: md.Arn, RotationPeriodInDays: 90 });
  assert.deepEqual(await h.call('GetKeyRotationStatus', { KeyId: md.KeyId }), {
    KeyRotationEnabled: true, KeyId: md.Arn, RotationPeriodInDays: 90, NextRotationDate: (T0 + DAY + 90 * DAY) / 1000,
  });
  await h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 2560 });
});

test('EnableKeyRotation errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 89 }), 'ValidationException',
    "1 validation error detected: Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90");
  await rejects(h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 2561 }), 'ValidationException',
    "1 validation error detected: Value '2561' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value less than or equal to 2560");
  await rejects(h.call('EnableKeyRotation', { KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('EnableKeyRotation', { KeyId: 'alias/a' }), 'NotFoundException', "Invalid keyId 'alias/a'");
  await h.call('DisableKey', { KeyId: md.KeyId });
  await rejects(h.call('EnableKeyRotation', { KeyId: md.KeyId }), 'DisabledException', `${md.Arn} is disabled.`);
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.call('EnableKeyRotation', { KeyId: md.KeyId }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});
