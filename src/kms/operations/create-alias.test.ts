import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISSING_KEY_ID, T0, aliasArnOf, arnOf, b64, harness, rejects } from '../testing.ts';

test('CreateAlias points a new alias at a key (by key id or key ARN)', async () => {
  const h = await harness();
  const md = await h.createKey();
  assert.deepEqual(await h.call('CreateAlias', { AliasName: 'alias/orders/prod', TargetKeyId: md.KeyId }), {});
  await h.call('CreateAlias', { AliasName: 'alias/Other_1-x', TargetKeyId: md.Arn });
  const r = await h.call('ListAliases', { KeyId: md.KeyId });
  assert.deepEqual(r['Aliases'], [
    { AliasName: 'alias/Other_1-x', AliasArn: aliasArnOf('alias/Other_1-x'), TargetKeyId: md.KeyId, CreationDate: T0 / 1000, LastUpdatedDate: T0 / 1000 },
    { AliasName: 'alias/orders/prod', AliasArn: aliasArnOf('alias/orders/prod'), TargetKeyId: md.KeyId, CreationDate: T0 / 1000, LastUpdatedDate: T0 / 1000 },
  ]);
  assert.equal((await h.call('Encrypt', { KeyId: 'alias/orders/prod', Plaintext: b64('x') }))['KeyId'], md.Arn);
});

test('CreateAlias works for a disabled key but not for one pending deletion', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('DisableKey', { KeyId: md.KeyId });
  await h.call('CreateAlias', { AliasName: 'alias/disabled', TargetKeyId: md.KeyId });
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.call('CreateAlias', { AliasName: 'alias/pending', TargetKeyId: md.KeyId }), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});

test('CreateAlias name rules', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/dup', TargetKeyId: md.KeyId });
  await rejects(h.call('CreateAlias', { AliasName: 'alias/dup', TargetKeyId: md.KeyId }), 'AlreadyExistsException', `An alias with the name ${aliasArnOf('alias/dup')} already exists`);
  await rejects(h.call('CreateAlias', { AliasName: 'orders', TargetKeyId: md.KeyId }), 'ValidationException',
    'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html');
  await rejects(h.call('CreateAlias', { AliasName: 'alias/aws/ebs', TargetKeyId: md.KeyId }), 'NotAuthorizedException',
    'Alias names that begin with alias/aws/ are reserved for AWS managed keys: alias/aws/ebs');
  await rejects(h.call('CreateAlias', { AliasName: 'alias/a:b', TargetKeyId: md.KeyId }), 'ValidationException', 'alias/a:b contains invalid characters for an alias');
  await rejects(h.call('CreateAlias', { AliasName: 'alias/', TargetKeyId: md.KeyId }), 'InvalidAliasNameException',
    'Alias name alias/ is not valid: it must be alias/ followed by at least one of a-z, A-Z, 0-9, /, _ and -.');
  await rejects(h.call('CreateAlias', { AliasName: 'alias/sp ace', TargetKeyId: md.KeyId }), 'ValidationException',
    "1 validation error detected: Value 'alias/sp ace' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$");
  const long = `alias/${'a'.repeat(251)}`;
  await rejects(h.call('CreateAlias', { AliasName: long, TargetKeyId: md.KeyId }), 'ValidationException',
    `1 validation error detected: Value '${long}' at 'aliasName' failed to satisfy constraint: Member must have length less than or equal to 256`);
  await h.call('CreateAlias', { AliasName: `alias/${'a'.repeat(250)}`, TargetKeyId: md.KeyId });
});

test('CreateAlias target errors', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/first', TargetKeyId: md.KeyId });
  await rejects(h.call('CreateAlias', { AliasName: 'alias/second', TargetKeyId: 'alias/first' }), 'ValidationException', 'Aliases must refer to keys. Not aliases');
  await rejects(h.call('CreateAlias', { AliasName: 'alias/second', TargetKeyId: aliasArnOf('alias/first') }), 'ValidationException', 'Aliases must refer to keys. Not aliases');
  await rejects(h.call('CreateAlias', { AliasName: 'alias/second', TargetKeyId: MISSING_KEY_ID }), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await rejects(h.call('CreateAlias', { AliasName: 'alias/second' }), 'ValidationException',
    "1 validation error detected: Value null at 'targetKeyId' failed to satisfy constraint: Member must not be null");
  // Nothing was created by the failures.
  assert.deepEqual((await h.call('ListAliases'))['Aliases'], [
    { AliasName: 'alias/first', AliasArn: aliasArnOf('alias/first'), TargetKeyId: md.KeyId, CreationDate: T0 / 1000, LastUpdatedDate: T0 / 1000 },
  ]);
});
