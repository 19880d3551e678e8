import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_KEY_ID, arnOf, b64, harness, rejects } from '../testing.ts';

test('EnableKey re-enables a disabled key; enabling an enabled key is a no-op', async () => {
  const h = await harness();
  const md = await h.createKey();
  assert.deepEqual(await h.call('EnableKey', { KeyId: md.KeyId }), {});
  await h.call('DisableKey', { KeyId: md.KeyId });
  await h.call('EnableKey', { KeyId: md.Arn });
  const r = await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') });
  assert.equal(r['KeyId'], md.Arn);
});

test('EnableKey errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('EnableKey', { KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('EnableKey', { KeyId: 'alias/x' }), 'NotFoundException', "Invalid keyId 'alias/x'");
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.call('EnableKey', { KeyId: md.KeyId }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});
