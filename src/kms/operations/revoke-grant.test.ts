import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allow, b64, harness, rejects, user } from '../testing.ts';

test('RevokeGrant needs kms:RevokeGrant; a revoked grant stops working at once', async () => {
  const h = await harness();
  const md = await h.createKey();
  const alice = user('alice');
  const g = await h.call('CreateGrant', { KeyId: md.KeyId, GranteePrincipal: alice.arn, Operations: ['Encrypt', 'RetireGrant'] });
  const enc = () => h.callAs(alice, 'Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') });
  await enc();
  // the grantee cannot revoke (RevokeGrant is not a grant operation); a key administrator can
  await rejects(h.callAs(alice, 'RevokeGrant', { KeyId: md.KeyId, GrantId: g['GrantId'] }), 'AccessDeniedException',
    `User: ${alice.arn} is not authorized to perform: kms:RevokeGrant on resource: ${md.Arn} because no identity-based policy allows the kms:RevokeGrant action`);
  const admin = user('keyadmin', allow('kms:RevokeGrant'));
  await rejects(h.callAs(admin, 'RevokeGrant', { KeyId: md.KeyId, GrantId: g['GrantId'], DryRun: true }), 'DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  await enc();
  assert.deepEqual(await h.callAs(admin, 'RevokeGrant', { KeyId: md.KeyId, GrantId: g['GrantId'] }), {});
  await rejects(enc(), 'AccessDeniedException', /is not authorized to perform: kms:Encrypt/);
  await rejects(h.call('RevokeGrant', { KeyId: md.KeyId, GrantId: g['GrantId'] }), 'NotFoundException', `Grant ID ${String(g['GrantId'])} not found`);
  await rejects(h.call('RevokeGrant', { KeyId: md.KeyId, GrantId: 'x' }), 'InvalidGrantIdException', 'Invalid grant ID: x');
  await rejects(h.call('RevokeGrant', { KeyId: md.KeyId }), 'ValidationException', "1 validation error detected: Value null at 'grantId' failed to satisfy constraint: Member must not be null");
});
