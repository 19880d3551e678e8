import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DAY, MISSING_KEY_ID, T0, aliasArnOf, arnOf, b64, harness, rejects } from '../testing.ts';

test('UpdateAlias moves an alias to another key and updates LastUpdatedDate', async () => {
  const h = await harness();
  const a = await h.createKey();
  const b = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/current', TargetKeyId: a.KeyId });
  h.advance(DAY);
  assert.deepEqual(await h.call('UpdateAlias', { AliasName: 'alias/current', TargetKeyId: b.Arn }), {});
  assert.equal((await h.call('Encrypt', { KeyId: 'alias/current', Plaintext: b64('x') }))['KeyId'], b.Arn);
  assert.deepEqual((await h.call('ListAliases', { KeyId: a.KeyId }))['Aliases'], []);
  assert.deepEqual((await h.call('ListAliases', { KeyId: b.KeyId }))['Aliases'], [
    { AliasName: 'alias/current', AliasArn: aliasArnOf('alias/current'), TargetKeyId: b.KeyId, CreationDate: T0 / 1000, LastUpdatedDate: (T0 + DAY) / 1000 },
  ]);
  // Pointing it at the key it already has is fine.
  await h.call('UpdateAlias', { AliasName: 'alias/current', TargetKeyId: b.KeyId });
});

test('UpdateAlias: the old key may be pending deletion, the new one may not', async () => {
  const h = await harness();
  const a = await h.createKey();
  const b = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/x', TargetKeyId: a.KeyId });
  await h.call('ScheduleKeyDeletion', { KeyId: a.KeyId });
  await h.call('UpdateAlias', { AliasName: 'alias/x', TargetKeyId: b.KeyId });
  await rejects(h.call('UpdateAlias', { AliasName: 'alias/x', TargetKeyId: a.KeyId }), 'KMSInvalidStateException', `${a.Arn} is pending deletion.`);
});

test('UpdateAlias errors', async () => {
  const h = await harness();
  const a = await h.createKey();
  await rejects(h.call('UpdateAlias', { AliasName: 'alias/none', TargetKeyId: a.KeyId }), 'NotFoundException', `Alias ${aliasArnOf('alias/none')} is not found.`);
  await h.call('CreateAlias', { AliasName: 'alias/x', TargetKeyId: a.KeyId });
  await rejects(h.call('UpdateAlias', { AliasName: 'alias/x', TargetKeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('UpdateAlias', { AliasName: 'alias/x', TargetKeyId: 'alias/x' }), 'ValidationException', 'Aliases must refer to keys. Not aliases');
  await rejects(h.call('UpdateAlias', { AliasName: 'alias/aws/s3', TargetKeyId: a.KeyId }), 'NotAuthorizedException',
    'Alias names that begin with alias/aws/ are reserved for AWS managed keys: alias/aws/s3');
  await rejects(h.call('UpdateAlias', { AliasName: aliasArnOf('alias/x'), TargetKeyId: a.KeyId }), 'ValidationException',
    'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html');
});
