import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT, MISSING_KEY_ID, arnOf, harness, rejects } from '../testing.ts';

test('GetKeyPolicy returns the policy and its name, with or without PolicyName, in any key state', async () => {
  const h = await harness();
  const md = await h.createKey();
  const a = await h.call('GetKeyPolicy', { KeyId: md.KeyId });
  assert.equal(a['PolicyName'], 'default');
  assert.match(String(a['Policy']), new RegExp(`"arn:aws:iam::${ACCOUNT}:root"`));
  assert.deepEqual(await h.call('GetKeyPolicy', { KeyId: md.Arn, PolicyName: 'default' }), a);
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  assert.deepEqual(await h.call('GetKeyPolicy', { KeyId: md.KeyId }), a);
});

test('GetKeyPolicy errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('GetKeyPolicy', { KeyId: md.KeyId, PolicyName: 'other' }), 'NotFoundException', 'No such policy exists');
  await rejects(h.call('GetKeyPolicy', { KeyId: md.KeyId, PolicyName: 'bad-name' }), 'ValidationException',
    "1 validation error detected: Value 'bad-name' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[\\w]+$");
  await rejects(h.call('GetKeyPolicy', { KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
});
