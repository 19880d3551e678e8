import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DAY, MISSING_KEY_ID, T0, arnOf, b64, harness, rejects } from '../testing.ts';

test('ScheduleKeyDeletion: default window 30 days, response with ARN, date, state and window', async () => {
  const h = await harness();
  const md = await h.createKey();
  const r = await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  assert.deepEqual(r, { KeyId: md.Arn, DeletionDate: (T0 + 30 * DAY) / 1000, KeyState: 'PendingDeletion', PendingWindowInDays: 30 });
  const pending = `${md.Arn} is pending deletion.`;
  await rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') }), 'KMSInvalidStateException', pending);
  await rejects(h.call('ScheduleKeyDeletion', { KeyId: md.KeyId }), 'KMSInvalidStateException', pending);
});

test('ScheduleKeyDeletion accepts 7..30 days and a disabled key', async () => {
  const h = await harness();
  const a = await h.createKey();
  const b = await h.createKey();
  await h.call('DisableKey', { KeyId: b.KeyId });
  assert.equal((await h.call('ScheduleKeyDeletion', { KeyId: a.Arn, PendingWindowInDays: 7 }))['DeletionDate'], (T0 + 7 * DAY) / 1000);
  assert.equal((await h.call('ScheduleKeyDeletion', { KeyId: b.KeyId, PendingWindowInDays: 30 }))['PendingWindowInDays'], 30);
});

test('ScheduleKeyDeletion errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 6 }), 'ValidationException', 'PendingWindowInDays must be between 7 and 30');
  await rejects(h.call('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 31 }), 'ValidationException', 'PendingWindowInDays must be between 7 and 30');
  await rejects(h.call('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 0 }), 'ValidationException',
    "1 validation error detected: Value '0' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 1");
  await rejects(h.call('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 366 }), 'ValidationException',
    "1 validation error detected: Value '366' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 365");
  await rejects(h.call('ScheduleKeyDeletion', { KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await h.call('CreateAlias', { AliasName: 'alias/k', TargetKeyId: md.KeyId });
  await rejects(h.call('ScheduleKeyDeletion', { KeyId: 'alias/k' }), 'NotFoundException', "Invalid keyId 'alias/k'");
  // Nothing changed.
  assert.equal((await h.call('DescribeKey', { KeyId: md.KeyId }) as { KeyMetadata: { KeyState: string } }).KeyMetadata.KeyState, 'Enabled');
});
