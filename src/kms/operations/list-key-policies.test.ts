import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_KEY_ID, arnOf, harness, rejects } from '../testing.ts';

test('ListKeyPolicies lists the one policy name, in any key state', async () => {
  const h = await harness();
  const md = await h.createKey();
  assert.deepEqual(await h.call('ListKeyPolicies', { KeyId: md.KeyId }), { PolicyNames: ['default'], Truncated: false });
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  assert.deepEqual(await h.call('ListKeyPolicies', { KeyId: md.Arn, Limit: 1 }), { PolicyNames: ['default'], Truncated: false });
});

test('ListKeyPolicies errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('ListKeyPolicies', { KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('ListKeyPolicies', { KeyId: md.KeyId, Marker: 'xyz' }), 'InvalidMarkerException',
    'The pagination marker is not valid. Pass the NextMarker value from the previous response unchanged.');
});
