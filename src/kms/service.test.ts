import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, harness, rejects, MISSING_KEY_ID, arnOf } from './testing.ts';

test('operations lists the 34 AWS operations rekey implements', async () => {
  const h = await harness();
  assert.deepEqual(h.kms.operations, [
    'CancelKeyDeletion', 'CreateAlias', 'CreateGrant', 'CreateKey', 'Decrypt', 'DeleteAlias', 'DescribeKey', 'DisableKey', 'DisableKeyRotation',
    'EnableKey', 'EnableKeyRotation', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateRandom',
    'GetKeyPolicy', 'GetKeyRotationStatus', 'ListAliases', 'ListGrants', 'ListKeyPolicies', 'ListKeyRotations', 'ListKeys', 'ListResourceTags',
    'ListRetirableGrants', 'PutKeyPolicy', 'ReEncrypt', 'RetireGrant', 'RevokeGrant', 'RotateKeyOnDemand', 'ScheduleKeyDeletion',
    'TagResource', 'UntagResource', 'UpdateAlias', 'UpdateKeyDescription',
  ]);
});

test('an unknown operation is UnknownOperationException', async () => {
  const h = await harness();
  await rejects(h.call('Sign', {}), 'UnknownOperationException', 'Unknown operation Sign');
  await rejects(h.call('__proto__', {}), 'UnknownOperationException', 'Unknown operation __proto__');
});

test('an unexpected failure leaves call() as KMSInternalException with the cause attached', async () => {
  const h = await harness();
  const md = await h.createKey();
  h.kms.store.invalidateKey(md.KeyId);
  const boom = new Error('disk on fire');
  h.barrier.getJSON = async () => { throw boom; };
  await assert.rejects(h.call('Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') }), (e: Error) => {
    assert.equal(e.name, 'KMSInternalException');
    assert.equal(e.message, 'An internal error occurred.');
    assert.equal(e.cause, boom);
    return true;
  });
});

test('resolveForUse resolves every identifier form to a usable key', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('CreateAlias', { AliasName: 'alias/s', TargetKeyId: md.KeyId });
  for (const id of [md.KeyId, md.Arn, 'alias/s']) assert.deepEqual(await h.kms.resolveForUse(id), { keyId: md.KeyId, arn: md.Arn });
  await rejects(h.kms.resolveForUse(MISSING_KEY_ID), 'NotFoundException', `Key '${arnOf(MISSING_KEY_ID)}' does not exist`);
  await h.call('DisableKey', { KeyId: md.KeyId });
  await rejects(h.kms.resolveForUse('alias/s'), 'DisabledException', `${md.Arn} is disabled.`);
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.kms.resolveForUse(md.KeyId), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});

test('a rejected onDemandRotationLimit fails construction', async () => {
  const h = await harness();
  assert.throws(() => new (h.kms.constructor as new (o: unknown) => unknown)({ barrier: h.barrier, region: 'us-east-1', accountId: '1', onDemandRotationLimit: -1 }), RangeError);
});

test('Encrypt reads the key record from the cache, not from storage, on every call', async () => {
  // A long cache TTL so the assertion does not depend on how fast this machine is (no timing here:
  // speed is measured by bench/kms, never by a test).
  const h = await harness({ cacheTtlMs: 600_000 });
  const md = await h.createKey();
  let reads = 0;
  const orig = h.barrier.getJSON.bind(h.barrier);
  h.barrier.getJSON = (async (p: string) => { reads++; return orig(p); }) as typeof h.barrier.getJSON;
  const pt = b64(Buffer.alloc(1024, 1));
  await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: pt });
  for (let i = 0; i < 2000; i++) await h.call('Encrypt', { KeyId: md.KeyId, Plaintext: pt });
  assert.ok(reads <= 1, `storage reads: ${reads}`);
});
