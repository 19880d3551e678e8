import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT, allow, b64, harness, rejects, user } from '../testing.ts';

const alice = user('alice'); // no IAM policy: only grants can let her use a key
const enc = (KeyId: string, EncryptionContext?: Record<string, string>, GrantTokens?: string[]) =>
  ({ KeyId, Plaintext: b64('secret'), ...(EncryptionContext ? { EncryptionContext } : {}), ...(GrantTokens ? { GrantTokens } : {}) });

test('CreateGrant returns a grant id and token; ListGrants shows the grant as AWS does', async () => {
  const h = await harness();
  const md = await h.createKey();
  const r = await h.call('CreateGrant', {
    KeyId: md.Arn, GranteePrincipal: alice.arn, RetiringPrincipal: `arn:aws:iam::${ACCOUNT}:role/ops`, Name: 'app-1',
    Operations: ['Encrypt', 'Decrypt', 'Encrypt'], Constraints: { EncryptionContextSubset: { tenant: 't1' } },
  });
  assert.deepEqual(Object.keys(r).sort(), ['GrantId', 'GrantToken']);
  assert.match(String(r['GrantId']), /^[0-9a-f]{64}$/);
  assert.match(String(r['GrantToken']), /^[A-Za-z0-9_-]{100,}$/);
  const list = await h.call('ListGrants', { KeyId: md.KeyId });
  assert.deepEqual(list, {
    Grants: [{
      KeyId: md.Arn, GrantId: r['GrantId'], Name: 'app-1', CreationDate: h.now() / 1000, GranteePrincipal: alice.arn,
      RetiringPrincipal: `arn:aws:iam::${ACCOUNT}:role/ops`, IssuingAccount: `arn:aws:iam::${ACCOUNT}:root`,
      Operations: ['Encrypt', 'Decrypt'], Constraints: { EncryptionContextSubset: { tenant: 't1' } },
    }],
    Truncated: false,
  });
});

test('a grant allows its grantee exactly its operations, and EncryptionContextSubset only matching contexts', async () => {
  const h = await harness();
  const md = await h.createKey();
  const denied = (action: string) => `User: ${alice.arn} is not authorized to perform: kms:${action} on resource: ${md.Arn} because no identity-based policy allows the kms:${action} action`;
  await rejects(h.callAs(alice, 'Encrypt', enc(md.KeyId, { tenant: 't1' })), 'AccessDeniedException', denied('Encrypt'));
  await h.call('CreateGrant', { KeyId: md.KeyId, GranteePrincipal: alice.arn, Operations: ['Encrypt', 'DescribeKey'], Constraints: { EncryptionContextSubset: { tenant: 't1' } } });
  // AWS: in a grant constraint the key is not case sensitive, the value is
  for (const ctx of [{ tenant: 't1' }, { Tenant: 't1', extra: 'x' }] as Record<string, string>[]) await h.callAs(alice, 'Encrypt', enc(md.KeyId, ctx));
  for (const ctx of [undefined, { tenant: 'T1' }, { other: 't1' }] as (Record<string, string> | undefined)[]) await rejects(h.callAs(alice, 'Encrypt', enc(md.KeyId, ctx)), 'AccessDeniedException', denied('Encrypt'));
  // the constraint does not apply to DescribeKey; operations outside the grant stay denied
  await h.callAs(alice, 'DescribeKey', { KeyId: md.KeyId });
  const ct = await h.call('Encrypt', enc(md.KeyId, { tenant: 't1' }));
  await rejects(h.callAs(alice, 'Decrypt', { CiphertextBlob: ct['CiphertextBlob'], EncryptionContext: { tenant: 't1' } }), 'AccessDeniedException', denied('Decrypt'));
  await rejects(h.callAs(alice, 'ScheduleKeyDeletion', { KeyId: md.KeyId }), 'AccessDeniedException', denied('ScheduleKeyDeletion'));
});

test('EncryptionContextEquals needs exactly the constrained pairs', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('CreateGrant', { KeyId: md.KeyId, GranteePrincipal: alice.arn, Operations: ['GenerateDataKey'], Constraints: { EncryptionContextEquals: { a: '1' } } });
  const gdk = (ctx?: Record<string, string>) => h.callAs(alice, 'GenerateDataKey', { KeyId: md.KeyId, KeySpec: 'AES_256', ...(ctx ? { EncryptionContext: ctx } : {}) });
  await gdk({ A: '1' });
  for (const ctx of [undefined, { a: '1', b: '2' }, { a: '2' }] as (Record<string, string> | undefined)[]) await rejects(gdk(ctx), 'AccessDeniedException', /is not authorized to perform: kms:GenerateDataKey on resource/);
});

test('an explicit deny in the key policy wins over a grant', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('CreateGrant', { KeyId: md.KeyId, GranteePrincipal: alice.arn, Operations: ['Encrypt'] });
  await h.callAs(alice, 'Encrypt', enc(md.KeyId));
  const policy = { Statement: [
    { Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
    { Sid: 'no', Effect: 'Deny', Principal: { AWS: alice.arn }, Action: 'kms:Encrypt', Resource: '*' },
  ] };
  await h.call('PutKeyPolicy', { KeyId: md.KeyId, Policy: JSON.stringify(policy) });
  await rejects(h.callAs(alice, 'Encrypt', enc(md.KeyId)), 'AccessDeniedException',
    `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${md.Arn} with an explicit deny in a resource-based policy`);
});

test('Name makes CreateGrant idempotent: identical parameters return the same grant id with a new token', async () => {
  const h = await harness();
  const md = await h.createKey();
  const req = { KeyId: md.KeyId, GranteePrincipal: alice.arn, Operations: ['Encrypt', 'Decrypt'], Name: 'n' };
  const a = await h.call('CreateGrant', req);
  const b = await h.call('CreateGrant', { ...req, Operations: ['Decrypt', 'Encrypt'] });
  assert.equal(b['GrantId'], a['GrantId']);
  assert.notEqual(b['GrantToken'], a['GrantToken']);
  const c = await h.call('CreateGrant', { ...req, Operations: ['Encrypt'] });
  assert.notEqual(c['GrantId'], a['GrantId']);
  const d = await h.call('CreateGrant', { ...req, Name: undefined });
  assert.notEqual(d['GrantId'], a['GrantId']);
  assert.equal(((await h.call('ListGrants', { KeyId: md.KeyId }))['Grants'] as unknown[]).length, 3);
});

test('a grant that allows CreateGrant lets its grantee create grants no broader than itself', async () => {
  const h = await harness();
  const md = await h.createKey();
  await h.call('CreateGrant', { KeyId: md.KeyId, GranteePrincipal: alice.arn, Operations: ['CreateGrant', 'Encrypt', 'Decrypt'], Constraints: { EncryptionContextSubset: { app: 'a' } } });
  const bob = user('bob');
  await h.callAs(alice, 'CreateGrant', { KeyId: md.KeyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'], Constraints: { EncryptionContextSubset: { app: 'a', env: 'prod' } } });
  await h.callAs(alice, 'CreateGrant', { KeyId: md.KeyId, GranteePrincipal: bob.arn, Operations: ['Decrypt'], Constraints: { EncryptionContextEquals: { app: 'a' } } });
  const broader = `User: ${alice.arn} is not authorized to perform: kms:CreateGrant on resource: ${md.Arn} because no identity-based policy allows the kms:CreateGrant action`;
  await rejects(h.callAs(alice, 'CreateGrant', { KeyId: md.KeyId, GranteePrincipal: bob.arn, Operations: ['Encrypt'] }), 'AccessDeniedException', broader);
  await rejects(h.callAs(alice, 'CreateGrant', { KeyId: md.KeyId, GranteePrincipal: bob.arn, Operations: ['GenerateDataKey'], Constraints: { EncryptionContextSubset: { app: 'a' } } }), 'AccessDeniedException', broader);
  await h.callAs(bob, 'Encrypt', enc(md.KeyId, { app: 'a', env: 'prod' }));
  await rejects(h.callAs(bob, 'Encrypt', enc(md.KeyId, { app: 'a' })), 'AccessDeniedException', /kms:Encrypt/);
});

test('CreateGrant needs kms:CreateGrant; kms:GrantOperations conditions see the requested operations', async () => {
  const h = await harness();
  const md = await h.createKey();
  const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:CreateGrant', Resource: '*', Condition: { 'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Encrypt', 'Decrypt'] } } }] };
  const carol = user('carol', policy);
  await h.callAs(carol, 'CreateGrant', { KeyId: md.KeyId, GranteePrincipal: alice.arn, Operations: ['Encrypt'] });
  await rejects(h.callAs(carol, 'CreateGrant', { KeyId: md.KeyId, GranteePrincipal: alice.arn, Operations: ['Encrypt', 'CreateGrant'] }), 'AccessDeniedException',
    `User: ${carol.arn} is not authorized to perform: kms:CreateGrant on resource: ${md.Arn} because no identity-based policy allows the kms:CreateGrant action`);
  await rejects(h.callAs(user('dave', allow('kms:Encrypt')), 'CreateGrant', { KeyId: md.KeyId, GranteePrincipal: alice.arn, Operations: ['Encrypt'] }), 'AccessDeniedException', /kms:CreateGrant/);
});

test('CreateGrant validation, key states and DryRun', async () => {
  const h = await harness();
  const md = await h.createKey();
  const base = { KeyId: md.KeyId, GranteePrincipal: alice.arn, Operations: ['Encrypt'] };
  await rejects(h.call('CreateGrant', { ...base, GranteePrincipal: 'bob' }), 'InvalidArnException', 'ARN does not refer to a valid principal: bob');
  await rejects(h.call('CreateGrant', { ...base, RetiringPrincipal: 'arn:aws:iam::111122223333:group/x' }), 'InvalidArnException', 'ARN does not refer to a valid principal: arn:aws:iam::111122223333:group/x');
  await rejects(h.call('CreateGrant', { ...base, Operations: ['Sign', 'Encrypt', 'GenerateMac'] }), 'ValidationException', 'Grant operations Sign, GenerateMac are not valid for a symmetric encryption KMS key.');
  await rejects(h.call('CreateGrant', { ...base, Operations: [] }), 'ValidationException', 'A grant must allow at least one operation.');
  await rejects(h.call('CreateGrant', { ...base, Operations: ['Fly'] }), 'ValidationException',
    /^1 validation error detected: Value 'Fly' at 'operations.1.member' failed to satisfy constraint: Member must satisfy enum value set: \[Decrypt, Encrypt, /);
  await rejects(h.call('CreateGrant', { KeyId: md.KeyId }), 'ValidationException',
    "2 validation errors detected: Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null; Value null at 'operations' failed to satisfy constraint: Member must not be null");
  const nine = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'v']));
  await rejects(h.call('CreateGrant', { ...base, Constraints: { EncryptionContextSubset: nine } }), 'ValidationException', 'EncryptionContextSubset can include at most 8 encryption context pairs; it has 9.');
  await rejects(h.call('CreateGrant', { ...base, Constraints: { EncryptionContextEquals: { k: 'v'.repeat(385) } } }), 'ValidationException', "The value of encryption context key 'k' in EncryptionContextEquals exceeds 384 characters.");
  await rejects(h.call('CreateGrant', { ...base, Name: 'bad name' }), 'ValidationException', /at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern/);
  await rejects(h.call('CreateGrant', { ...base, GrantTokens: ['forged'] }), 'InvalidGrantTokenException', 'The grant token is not valid.');
  await rejects(h.call('CreateGrant', { ...base, DryRun: true }), 'DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  await rejects(h.call('CreateGrant', { ...base, KeyId: 'alias/x' }), 'NotFoundException', "Invalid keyId 'alias/x'");
  assert.deepEqual((await h.call('ListGrants', { KeyId: md.KeyId }))['Grants'], []);
  await h.call('DisableKey', { KeyId: md.KeyId });
  await h.call('CreateGrant', base);
  await h.call('ScheduleKeyDeletion', { KeyId: md.KeyId });
  await rejects(h.call('CreateGrant', base), 'KMSInvalidStateException', `${md.Arn} is pending deletion.`);
});
