import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aliasArnOf, b64, harness, rejects } from '../testing.ts';

test('DeleteAlias removes the alias and leaves the key', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/gone', TargetKeyId: md.KeyId });
  assert.deepEqual(await h.call('DeleteAlias', { AliasName: 'alias/gone' }), {});
  await rejects(h.call('Encrypt', { KeyId: 'alias/gone', Plaintext: b64('x') }), 'NotFoundException', `Alias ${aliasArnOf('alias/gone')} is not found.`);
  assert.deepEqual((await h.call('ListAliases'))['Aliases'], []);
  assert.equal((await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') }))['KeyId'], md.Arn);
  // The name can be used again.
  await h.call('CreateAlias', { AliasName: 'alias/gone', TargetKeyId: md.KeyId });
});

test('DeleteAlias works whatever the key state', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/p', TargetKeyId: md.KeyId });
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await h.call('DeleteAlias', { AliasName: 'alias/p' });
  assert.deepEqual((await h.call('ListAliases', { KeyId: md.KeyId }))['Aliases'], []);
});

test('DeleteAlias errors', async () => {
  const h = await harness();
  await rejects(h.call('DeleteAlias', { AliasName: 'alias/none' }), 'NotFoundException', `Alias ${aliasArnOf('alias/none')} is not found.`);
  await rejects(h.call('DeleteAlias', { AliasName: 'alias/aws/rds' }), 'NotAuthorizedException',
    'Alias names that begin with alias/aws/ are reserved for AWS managed keys: alias/aws/rds');
  await rejects(h.call('DeleteAlias', { AliasName: 'none' }), 'ValidationException',
    'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html');
  await rejects(h.call('DeleteAlias', {}), 'ValidationException',
    "1 validation error detected: Value null at 'aliasName' failed to satisfy constraint: Member must not be null");
});
