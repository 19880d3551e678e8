import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from '../../crypto/index.ts';
import { KmsService } from '../service.ts';
import { ACCOUNT, aliasArnOf, b64, CALLER, DAY, harness, REGION, rejects, T0 } from '../testing.ts';
import type { KeyMetadata } from '../wire.ts';
import { ROTATION_DUE_PREFIX, rotationDuePath } from './paths.ts';
import { SERVICE_NAMES } from './service-keys.ts';
import { lifecycleHarness } from './testing.ts';

const POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] });
const describe = async (h: { call: (op: string, i: unknown) => Promise<Record<string, unknown>> }, id: string) => ((await h.call('DescribeKey', { KeyId: id }))['KeyMetadata'] as KeyMetadata);

test('naming alias/aws/<service> creates the AWS managed key on first use: KeyManager AWS, rotation every 365 days', async () => {
  const h = await lifecycleHarness();
  const enc = await h.call('Encrypt', { KeyId: 'alias/aws/rds', Plaintext: b64('row') });
  const md = await describe(h, 'alias/aws/rds');
  assert.equal(enc['KeyId'], md.Arn);
  assert.equal(md.KeyManager, 'AWS');
  assert.equal(md.KeyState, 'Enabled');
  assert.equal(md.Description, 'Default key that protects my rds data when no other key is defined');
  assert.deepEqual(await h.call('GetKeyRotationStatus', { KeyId: md.KeyId }), { KeyRotationEnabled: true, KeyId: md.Arn, RotationPeriodInDays: 365, NextRotationDate: (T0 + 365 * DAY) / 1000 });
  assert.deepEqual(await h.barrier.list(ROTATION_DUE_PREFIX), [rotationDuePath(T0 + 365 * DAY, md.KeyId)]);
  // The same key from then on, by every operation that takes an alias; and for other components.
  const gdk = await h.call('GenerateDataKey', { KeyId: aliasArnOf('alias/aws/rds'), KeySpec: 'AES_256' });
  assert.equal(gdk['KeyId'], md.Arn);
  assert.deepEqual(await h.kms.serviceKey('rds'), { keyId: md.KeyId, arn: md.Arn, aliasName: 'alias/aws/rds' });
  const sm = await h.kms.serviceKey('secretsmanager');
  assert.equal((await describe(h, 'alias/aws/secretsmanager')).KeyId, sm.keyId);
  const aliases = (await h.call('ListAliases', {}))['Aliases'] as { AliasName: string; TargetKeyId: string }[];
  assert.deepEqual(aliases.map((a) => [a.AliasName, a.TargetKeyId]), [['alias/aws/rds', md.KeyId], ['alias/aws/secretsmanager', sm.keyId]]);
  // It rotates every year, on its date.
  await h.at(365 * DAY);
  const rot = (await h.call('ListKeyRotations', { KeyId: md.KeyId }))['Rotations'] as { RotationType: string; RotationDate: number }[];
  assert.deepEqual(rot.map((r) => [r.RotationType, r.RotationDate]), [['AUTOMATIC', (T0 + 365 * DAY) / 1000]]);
  assert.equal((await h.record(md.KeyId)).rotation.nextRotationDate, T0 + 730 * DAY);
});

test('an alias/aws/ name that is not a predefined AWS alias does not exist', async () => {
  const h = await lifecycleHarness();
  await rejects(h.call('Encrypt', { KeyId: 'alias/aws/nonsense', Plaintext: b64('x') }), 'NotFoundException', `Alias ${aliasArnOf('alias/aws/nonsense')} is not found.`);
  await rejects(h.call('DescribeKey', { KeyId: 'alias/aws/' }), 'NotFoundException', `Alias ${aliasArnOf('alias/aws/')} is not found.`);
  await rejects(h.kms.serviceKey('nonsense'), 'ValidationException', `nonsense is not a service with an AWS managed key. Known services: ${SERVICE_NAMES.join(', ')}.`);
  assert.deepEqual(await h.barrier.list('kms/keys/'), []);
});

test('customers cannot manage it: the key policy refuses (AccessDeniedException, as AWS), alias/aws/ names are reserved', async () => {
  const h = await lifecycleHarness();
  const md = await describe(h, 'alias/aws/secretsmanager');
  const denied = (action: string) => `User: ${CALLER.arn} is not authorized to perform: kms:${action} on resource: ${md.Arn} because no resource-based policy allows the kms:${action} action`;
  for (const [op, extra] of [
    ['DisableKey', {}], ['ScheduleKeyDeletion', {}], ['PutKeyPolicy', { Policy: POLICY }],
    ['RotateKeyOnDemand', {}], ['EnableKeyRotation', {}], ['DisableKeyRotation', {}],
  ] as const) {
    await rejects(h.call(op, { KeyId: md.KeyId, ...extra }), 'AccessDeniedException', denied(op));
  }
  await rejects(h.call('CreateAlias', { AliasName: 'alias/mine', TargetKeyId: md.KeyId }), 'AccessDeniedException', denied('CreateAlias'));
  // AWS KMS: "The alias/aws/ prefix is reserved for AWS managed keys."
  const own = await h.createKey();
  await rejects(h.call('CreateAlias', { AliasName: 'alias/aws/rds', TargetKeyId: own.KeyId }), 'NotAuthorizedException', 'Alias names that begin with alias/aws/ are reserved for AWS managed keys: alias/aws/rds');
  await rejects(h.call('UpdateAlias', { AliasName: 'alias/aws/secretsmanager', TargetKeyId: own.KeyId }), 'NotAuthorizedException', 'Alias names that begin with alias/aws/ are reserved for AWS managed keys: alias/aws/secretsmanager');
  await rejects(h.call('DeleteAlias', { AliasName: 'alias/aws/secretsmanager' }), 'NotAuthorizedException', 'Alias names that begin with alias/aws/ are reserved for AWS managed keys: alias/aws/secretsmanager');
  // Reading and using it is allowed.
  await h.call('Encrypt', { KeyId: 'alias/aws/secretsmanager', Plaintext: b64('x') });
  await h.call('GetKeyPolicy', { KeyId: md.KeyId });
  assert.equal((await describe(h, md.KeyId)).KeyState, 'Enabled');
});

test('callers past the key policy (admin API, policy-free nodes) meet UnsupportedOperationException "... is an AWS managed key"', async () => {
  const h = await harness();
  const open = new KmsService({ barrier: h.barrier, region: REGION, accountId: ACCOUNT, iam: h.iam, unsafeSkipAuthorization: true, clock: () => new Date(h.now()) });
  const call = (op: string, input: unknown) => open.call(op, input, CALLER);
  const { keyId, arn } = await open.serviceKey('ebs');
  const own = await h.createKey();
  const msg = (verb: string) => `${arn} is an AWS managed key. You cannot ${verb} an AWS managed key.`;
  await rejects(call('DisableKey', { KeyId: keyId }), 'UnsupportedOperationException', msg('disable'));
  await rejects(call('ScheduleKeyDeletion', { KeyId: keyId }), 'UnsupportedOperationException', msg('schedule the deletion of'));
  await rejects(call('PutKeyPolicy', { KeyId: keyId, Policy: POLICY }), 'UnsupportedOperationException', msg('change the key policy of'));
  await rejects(call('RotateKeyOnDemand', { KeyId: keyId }), 'UnsupportedOperationException', msg('rotate on demand'));
  await rejects(call('EnableKeyRotation', { KeyId: keyId, RotationPeriodInDays: 90 }), 'UnsupportedOperationException', msg('change the rotation of'));
  await rejects(call('DisableKeyRotation', { KeyId: keyId }), 'UnsupportedOperationException', msg('change the rotation of'));
  await rejects(call('CreateAlias', { AliasName: 'alias/mine', TargetKeyId: keyId }), 'UnsupportedOperationException', msg('create an alias for'));
  await call('CreateAlias', { AliasName: 'alias/mine', TargetKeyId: own.KeyId });
  await rejects(call('UpdateAlias', { AliasName: 'alias/mine', TargetKeyId: keyId }), 'UnsupportedOperationException', msg('point an alias at'));
  // The admin override lifts the dependents guard only.
  await rejects(open.lifecycle.admin().scheduleDeletion(keyId, 7, true), 'UnsupportedOperationException', msg('schedule the deletion of'));
  await rejects(open.lifecycle.admin().disableKey(arn, true), 'UnsupportedOperationException', msg('disable'));
  const rec = (await h.kms.store.readKey(keyId))!.value;
  assert.deepEqual([rec.state, rec.rotation.enabled, rec.rotation.periodDays, rec.aliases], ['Enabled', true, 365, ['alias/aws/ebs']]);
});

test('two nodes naming the alias at once create one key', async () => {
  const root = randomBytes(32);
  const a = await harness({ root });
  const b = await harness({ backend: a.backend, root });
  const got = await Promise.all([
    ...Array.from({ length: 5 }, () => a.call('DescribeKey', { KeyId: 'alias/aws/s3' })),
    ...Array.from({ length: 5 }, () => b.call('DescribeKey', { KeyId: 'alias/aws/s3' })),
  ]);
  const ids = new Set(got.map((r) => (r['KeyMetadata'] as KeyMetadata).KeyId));
  assert.equal(ids.size, 1);
  assert.equal((await a.barrier.list('kms/keys/')).length, 1);
});
