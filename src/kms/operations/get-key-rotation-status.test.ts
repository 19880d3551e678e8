import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_KEY_ID, arnOf, harness, rejects } from '../testing.ts';

test('GetKeyRotationStatus for a new key, and in every key state', async () => {
  const h = await harness();
  const md = await h.createKey();
  assert.deepEqual(await h.call('GetKeyRotationStatus', { KeyId: md.KeyId }), { KeyRotationEnabled: false, KeyId: md.Arn });
  await h.call('EnableKeyRotation', { KeyId: md.KeyId, RotationPeriodInDays: 180 });
  await h.call('DisableKey', { KeyId: md.KeyId });
  assert.equal((await h.call('GetKeyRotationStatus', { KeyId: md.Arn }))['RotationPeriodInDays'], 180);
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  assert.equal((await h.call('GetKeyRotationStatus', { KeyId: md.KeyId }))['KeyRotationEnabled'], true);
  // A completed on-demand rotation does not leave OnDemandRotationStartDate behind.
  assert.equal((await h.call('GetKeyRotationStatus', { KeyId: md.KeyId }))['OnDemandRotationStartDate'], undefined);
});

test('GetKeyRotationStatus errors: key id or key ARN only', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/r', TargetKeyId: md.KeyId });
  await rejects(h.call('GetKeyRotationStatus', { KeyId: 'alias/r' }), 'NotFoundException', "Invalid keyId 'alias/r'");
  await rejects(h.call('GetKeyRotationStatus', { KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
});
