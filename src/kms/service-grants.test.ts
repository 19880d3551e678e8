// The service-grant helpers src/db uses as RDS: the caller's permission through the service, the
// service's own grant (idempotent by name, limited to the instance's context), and its retirement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT, CALLER, REGION, allow, harness, rejects, user } from './testing.ts';
import type { Identity } from '../iam/identity.ts';

const VIA = `rds.${REGION}.amazonaws.com`;
const rds = { accountId: ACCOUNT, arn: VIA, accessKeyId: '', type: 'AssumedRole', principalId: `AWSService:${VIA}`, identityPolicies: [] } as unknown as Identity;

test('authorizeThroughService: allowed with kms:CreateGrant + DescribeKey, denied without; disabled keys refused', async () => {
  const h = await harness();
  const key = await h.createKey();
  const ok = await h.kms.authorizeThroughService(key.KeyId, ['kms:CreateGrant', 'kms:DescribeKey'], { caller: CALLER as Identity, request: {}, viaService: VIA });
  assert.equal(ok.arn, key.Arn);
  const weak = user('weak', allow('kms:DescribeKey'));
  await rejects(h.kms.authorizeThroughService(key.KeyId, ['kms:CreateGrant', 'kms:DescribeKey'], { caller: weak, request: {}, viaService: VIA }), 'AccessDeniedException');
  await h.call('DisableKey', { KeyId: key.KeyId });
  await rejects(h.kms.authorizeThroughService(key.KeyId, ['kms:DescribeKey'], { caller: CALLER as Identity, request: {}, viaService: VIA }), 'DisabledException', `${key.Arn} is disabled.`);
});

test('createServiceGrant: one grant per name, usable only with the instance context; retire removes it', async () => {
  const h = await harness();
  const key = await h.createKey();
  const input = { name: 'rds-db-X', granteePrincipal: VIA, retiringPrincipal: VIA, operations: ['GenerateDataKey', 'Decrypt'], contextSubset: { 'aws:rds:db-id': 'db-X' } };
  const id1 = await h.kms.createServiceGrant(key.KeyId, input);
  const id2 = await h.kms.createServiceGrant(key.KeyId, input);
  assert.equal(id1, id2, 'idempotent by name');
  const listed = await h.call('ListGrants', { KeyId: key.KeyId }) as { Grants: { GranteePrincipal: string; Constraints: unknown }[] };
  assert.equal(listed.Grants.length, 1);
  assert.deepEqual(listed.Grants[0]!.Constraints, { EncryptionContextSubset: { 'aws:rds:db-id': 'db-X' } });
  const onBehalf = { caller: rds, request: {}, viaService: VIA };
  const { blob } = await h.kms.encryptInternal(key.KeyId, Buffer.from('k'), { 'aws:rds:db-id': 'db-X' }, onBehalf);
  assert.equal((await h.kms.decryptInternal(blob, { 'aws:rds:db-id': 'db-X' }, onBehalf)).plaintext.toString(), 'k');
  await rejects(h.kms.encryptInternal(key.KeyId, Buffer.from('k'), { 'aws:rds:db-id': 'db-OTHER' }, onBehalf), 'AccessDeniedException');
  assert.equal(await h.kms.retireServiceGrant(key.KeyId, id1), true);
  assert.equal(await h.kms.retireServiceGrant(key.KeyId, id1), false);
  await rejects(h.kms.decryptInternal(blob, { 'aws:rds:db-id': 'db-X' }, onBehalf), 'AccessDeniedException');
});
