import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_KEY_ID, arnOf, harness, rejects } from '../testing.ts';

test('TagResource adds tags and replaces the value of an existing tag key', async () => {
  const h = await harness();
  const md = await h.createKey({ Tags: [{ TagKey: 'env', TagValue: 'dev' }] });
  assert.deepEqual(await h.call('TagResource', { KeyId: md.KeyId, Tags: [{ TagKey: 'env', TagValue: 'prod' }, { TagKey: 'app', TagValue: '' }] }), {});
  assert.deepEqual((await h.call('ListResourceTags', { KeyId: md.KeyId }))['Tags'], [{ TagKey: 'app', TagValue: '' }, { TagKey: 'env', TagValue: 'prod' }]);
  await h.call('DisableKey', { KeyId: md.KeyId });
  await h.call('TagResource', { KeyId: md.Arn, Tags: [{ TagKey: 'owner', TagValue: 'sec' }] });
  assert.equal(((await h.call('ListResourceTags', { KeyId: md.KeyId }))['Tags'] as unknown[]).length, 3);
});

test('TagResource errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('TagResource', { KeyId: md.KeyId, Tags: [{ TagKey: 'aws:cloudformation:stack', TagValue: 'x' }] }), 'TagException', 'Tags beginning with aws: are reserved');
  await rejects(h.call('TagResource', { KeyId: md.KeyId, Tags: [{ TagKey: 'k', TagValue: 'v'.repeat(257) }] }), 'ValidationException',
    `1 validation error detected: Value '${'v'.repeat(257)}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256`);
  await rejects(h.call('TagResource', { KeyId: md.KeyId, Tags: [{ TagKey: '', TagValue: 'v' }] }), 'ValidationException',
    "1 validation error detected: Value '' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1");
  await rejects(h.call('TagResource', { KeyId: md.KeyId }), 'ValidationException',
    "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null");
  const fifty = Array.from({ length: 50 }, (_, i) => ({ TagKey: `k${i}`, TagValue: 'v' }));
  await h.call('TagResource', { KeyId: md.KeyId, Tags: fifty });
  await h.call('TagResource', { KeyId: md.KeyId, Tags: [{ TagKey: 'k0', TagValue: 'replaced' }] });
  await rejects(h.call('TagResource', { KeyId: md.KeyId, Tags: [{ TagKey: 'one-more', TagValue: 'v' }] }), 'TagException', 'Too many tags');
  await rejects(h.call('TagResource', { KeyId: MISSING_KEY_ID, Tags: [] }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('TagResource', { KeyId: 'alias/x', Tags: [] }), 'NotFoundException', "Invalid keyId 'alias/x'");
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.call('TagResource', { KeyId: md.KeyId, Tags: [{ TagKey: 'a', TagValue: 'b' }] }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});
