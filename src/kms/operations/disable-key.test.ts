import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_KEY_ID, arnOf, b64, harness, rejects } from '../testing.ts';

test('DisableKey stops cryptographic use at once; disabling twice is fine', async () => {
  const h = await harness();
  const md = await h.createKey();
  const ct = await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('secret') });
  assert.deepEqual(await h.call('DisableKey', { KeyId: md.KeyId }), {});
  await h.call('DisableKey', { KeyId: md.Arn });
  const disabled = `${md.Arn} is disabled.`;
  await rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') }), 'DisabledException', disabled);
  await rejects(h.call('Decrypt', { CiphertextBlob: ct['CiphertextBlob'] }), 'DisabledException', disabled);
  await rejects(h.call('GenerateDataKey', { KeyId: md.KeyId, KeySpec: 'AES_256' }), 'DisabledException', disabled);
  await rejects(h.call('GenerateDataKeyWithoutPlaintext', { KeyId: md.KeyId, NumberOfBytes: 8 }), 'DisabledException', disabled);
  await rejects(h.call('ReEncrypt', { CiphertextBlob: ct['CiphertextBlob'], DestinationKeyId: md.KeyId }), 'DisabledException', disabled);
  assert.equal((await h.call('DescribeKey', { KeyId: md.KeyId }) as { KeyMetadata: { KeyState: string } }).KeyMetadata.KeyState, 'Disabled');
});

test('DisableKey errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await rejects(h.call('DisableKey', { KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('DisableKey', { KeyId: 'nope' }), 'NotFoundException', "Invalid keyId 'nope'");
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.call('DisableKey', { KeyId: md.KeyId }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});
