import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, rejects } from '../testing.ts';

test('UntagResource removes the named tags and ignores absent ones', async () => {
  const h = await harness();
  const md = await h.createKey({ Tags: [{ TagKey: 'a', TagValue: '1' }, { TagKey: 'b', TagValue: '2' }, { TagKey: 'c', TagValue: '3' }] });
  assert.deepEqual(await h.call('UntagResource', { KeyId: md.KeyId, TagKeys: ['a', 'c', 'zzz'] }), {});
  assert.deepEqual((await h.call('ListResourceTags', { KeyId: md.KeyId }))['Tags'], [{ TagKey: 'b', TagValue: '2' }]);
  await h.call('UntagResource', { KeyId: md.Arn, TagKeys: [] });
});

test('UntagResource errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('UntagResource', { KeyId: md.KeyId, TagKeys: ['aws:x'] }), 'TagException', 'Tags beginning with aws: are reserved');
  await rejects(h.call('UntagResource', { KeyId: md.KeyId, TagKeys: ['k'.repeat(129)] }), 'ValidationException',
    `1 validation error detected: Value '${'k'.repeat(129)}' at 'tagKeys.1.member' failed to satisfy constraint: Member must have length less than or equal to 128`);
  await rejects(h.call('UntagResource', { KeyId: md.KeyId, TagKeys: 'a' }), 'SerializationException', 'STRING_VALUE can not be converted to a List');
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.call('UntagResource', { KeyId: md.KeyId, TagKeys: ['a'] }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});
