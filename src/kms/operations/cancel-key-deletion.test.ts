import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_KEY_ID, arnOf, harness, rejects } from '../testing.ts';

test('CancelKeyDeletion leaves the key Disabled and clears the deletion fields', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 10 });
  assert.deepEqual(await h.call('CancelKeyDeletion', { KeyId: md.KeyId }), { KeyId: md.Arn });
  const m = (await h.call('DescribeKey', { KeyId: md.KeyId }))['KeyMetadata'] as Record<string, unknown>;
  assert.equal(m['KeyState'], 'Disabled');
  assert.equal(m['Enabled'], false);
  assert.equal(m['DeletionDate'], undefined);
  assert.equal(m['PendingDeletionWindowInDays'], undefined);
  await h.call('EnableKey', { KeyId: md.KeyId });
});

test('CancelKeyDeletion errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('CancelKeyDeletion', { KeyId: md.KeyId }), 'KMSInvalidStateException', `${md.Arn} is not pending deletion.`);
  await h.call('DisableKey', { KeyId: md.KeyId });
  await rejects(h.call('CancelKeyDeletion', { KeyId: md.Arn }), 'KMSInvalidStateException', `${md.Arn} is not pending deletion.`);
  await rejects(h.call('CancelKeyDeletion', { KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
});
