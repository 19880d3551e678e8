import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT, MISSING_KEY_ID, aliasArnOf, arnOf, harness, rejects } from '../testing.ts';

test('DescribeKey accepts key id, key ARN, alias name and alias ARN', async () => {
  const h = await harness();
  const md = await h.createKey({ Description: 'd' });
  await h.call('CreateAlias', { AliasName: 'alias/app', TargetKeyId: md.KeyId });
  for (const id of [md.KeyId, md.Arn, 'alias/app', aliasArnOf('alias/app')]) {
    assert.deepEqual((await h.call('DescribeKey', { KeyId: id }))['KeyMetadata'], md, id);
  }
});

test('DescribeKey works in every key state and shows the deletion fields while pending deletion', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('DisableKey', { KeyId: md.KeyId });
  let m = (await h.call('DescribeKey', { KeyId: md.KeyId }))['KeyMetadata'] as Record<string, unknown>;
  assert.equal(m['KeyState'], 'Disabled');
  assert.equal(m['Enabled'], false);
  assert.equal(m['DeletionDate'], undefined);
  const s = await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId, PendingWindowInDays: 7 });
  m = (await h.call('DescribeKey', { KeyId: md.KeyId }))['KeyMetadata'] as Record<string, unknown>;
  assert.equal(m['KeyState'], 'PendingDeletion');
  assert.equal(m['DeletionDate'], s['DeletionDate']);
  assert.equal(m['PendingDeletionWindowInDays'], 7);
});

test('DescribeKey errors name the key the way AWS does', async () => {
  const h = await harness();
  await rejects(h.call('DescribeKey', { KeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('DescribeKey', { KeyId: arnOf(MISSING_KEY_ID) }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('DescribeKey', { KeyId: 'fake-key-id' }), 'NotFoundException', "Invalid keyId 'fake-key-id'");
  await rejects(h.call('DescribeKey', { KeyId: '134f2428cec14b25a1ae9048164dba47' }), 'NotFoundException', "Invalid keyId '134f2428cec14b25a1ae9048164dba47'");
  await rejects(h.call('DescribeKey', { KeyId: 'alias/nope' }), 'NotFoundException', `Alias ${aliasArnOf('alias/nope')} is not found.`);
  await rejects(h.call('DescribeKey', { KeyId: aliasArnOf('alias/nope') }), 'NotFoundException', `Alias ${aliasArnOf('alias/nope')} is not found.`);
  const md = await h.createKey();
  // Another Region: AWS answers "Invalid arn <region>"; another account: the key does not exist here.
  await rejects(h.call('DescribeKey', { KeyId: md.Arn.replace('us-east-1', 'eu-west-1') }), 'NotFoundException', 'Invalid arn eu-west-1');
  const other = md.Arn.replace(ACCOUNT, '999999999999');
  await rejects(h.call('DescribeKey', { KeyId: other }), 'NotFoundException', `Key '${other}' does not exist`);
  await rejects(h.call('DescribeKey', { KeyId: 'arn:aws:s3:::bucket' }), 'NotFoundException', "Invalid keyId 'arn:aws:s3:::bucket'");
  // Names no alias can have are simply not found (and never reach storage).
  for (const name of ['alias/\u00fc', `alias/${'a'.repeat(600)}`, 'alias/a b']) {
    await rejects(h.call('DescribeKey', { KeyId: name }), 'NotFoundException', `Alias ${aliasArnOf(name)} is not found.`);
  }
});

test('DescribeKey validates KeyId', async () => {
  const h = await harness();
  await rejects(h.call('DescribeKey', {}), 'ValidationException',
    "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");
  await rejects(h.call('DescribeKey', { KeyId: '' }), 'ValidationException',
    "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1");
  await rejects(h.call('DescribeKey', { KeyId: 42 }), 'SerializationException', 'NUMBER_VALUE can not be converted to a String');
  await rejects(h.call('DescribeKey', { KeyId: 'x', GrantTokens: Array(11).fill('t') }), 'ValidationException',
    "1 validation error detected: Value '[t, t, t, t, t, t, t, t, t, t, t]' at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10");
});
