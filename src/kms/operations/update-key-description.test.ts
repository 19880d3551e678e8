import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_KEY_ID, arnOf, harness, rejects } from '../testing.ts';

test('UpdateKeyDescription replaces the description (also on a disabled key)', async () => {
  const h = await harness();
  const md = await h.createKey({ Description: 'old' });
  assert.deepEqual(await h.call('UpdateKeyDescription', { KeyId: md.KeyId, Description: 'new' }), {});
  assert.equal((await h.call('DescribeKey', { KeyId: md.KeyId }) as { KeyMetadata: { Description: string } }).KeyMetadata.Description, 'new');
  await h.call('DisableKey', { KeyId: md.Arn });
  await h.call('UpdateKeyDescription', { KeyId: md.Arn, Description: '' });
  assert.equal((await h.call('DescribeKey', { KeyId: md.KeyId }) as { KeyMetadata: { Description: string } }).KeyMetadata.Description, '');
});

test('UpdateKeyDescription errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/a', TargetKeyId: md.KeyId });
  // AWS KMS: this operation takes the key id or key ARN only.
  await rejects(h.call('UpdateKeyDescription', { KeyId: 'alias/a', Description: 'x' }), 'NotFoundException', "Invalid keyId 'alias/a'");
  await rejects(h.call('UpdateKeyDescription', { KeyId: MISSING_KEY_ID, Description: 'x' }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('UpdateKeyDescription', { KeyId: md.KeyId }), 'ValidationException',
    "1 validation error detected: Value null at 'description' failed to satisfy constraint: Member must not be null");
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.call('UpdateKeyDescription', { KeyId: md.KeyId, Description: 'x' }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});
