import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT, CALLER, allow, b64, harness, rejects, user } from '../testing.ts';

const alice = user('alice');
const ops = user('ops');

async function setup(extra: Record<string, unknown> = {}) {
  const h = await harness();
  const md = await h.createKey();
  const g = await h.call('CreateGrant', { KeyId: md.KeyId, GranteePrincipal: alice.arn, RetiringPrincipal: ops.arn, Operations: ['Encrypt'], ...extra });
  const grantId = String(g['GrantId']);
  const token = String(g['GrantToken']);
  const grants = async () => ((await h.call('ListGrants', { KeyId: md.KeyId }))['Grants'] as unknown[]).length;
  return { h, md, grantId, token, grants };
}

test('the retiring principal retires a grant by its token; the grant stops working at once', async () => {
  const { h, md, token, grants } = await setup();
  await h.callAs(alice, 'Encrypt', { KeyId: md.KeyId, Plaintext: b64('x') });
  assert.deepEqual(await h.callAs(ops, 'RetireGrant', { GrantToken: token }), {});
  assert.equal(await grants(), 0);
  // the token no longer helps either: this node has seen the retirement
  await rejects(h.callAs(alice, 'Encrypt', { KeyId: md.KeyId, Plaintext: b64('x'), GrantTokens: [token] }), 'AccessDeniedException',
    `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${md.Arn} because no identity-based policy allows the kms:Encrypt action`);
  await rejects(h.callAs(ops, 'RetireGrant', { GrantToken: token }), 'NotFoundException', /^Grant ID [0-9a-f]{64} not found$/);
});

test('who may retire: retiring principal, grantee with RetireGrant, the account root, IAM delegation', async () => {
  const denied = (who: string, arn: string) => `User: ${who} is not authorized to perform: kms:RetireGrant on resource: ${arn} because no identity-based policy allows the kms:RetireGrant action`;
  {
    const { h, md, grantId } = await setup();
    // the grantee without RetireGrant in the grant, and a stranger, may not
    await rejects(h.callAs(alice, 'RetireGrant', { KeyId: md.KeyId, GrantId: grantId }), 'AccessDeniedException', denied(alice.arn, md.Arn));
    await rejects(h.callAs(user('eve', allow('kms:Encrypt')), 'RetireGrant', { KeyId: md.Arn, GrantId: grantId }), 'AccessDeniedException', denied(`arn:aws:iam::${ACCOUNT}:user/eve`, md.Arn));
    await rejects(h.callAs(ops, 'RetireGrant', { KeyId: md.KeyId, GrantId: grantId, DryRun: true }), 'DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
    await h.callAs(ops, 'RetireGrant', { KeyId: md.KeyId, GrantId: grantId });
  }
  {
    const { h, md, grantId } = await setup({ Operations: ['Encrypt', 'RetireGrant'] });
    await h.callAs(alice, 'RetireGrant', { KeyId: md.KeyId, GrantId: grantId });
  }
  {
    const { h, md, grantId } = await setup();
    await h.callAs(CALLER, 'RetireGrant', { KeyId: md.KeyId, GrantId: grantId });
  }
  {
    const { h, md, grantId, grants } = await setup();
    await h.callAs(user('admin', allow('kms:RetireGrant')), 'RetireGrant', { KeyId: md.KeyId, GrantId: grantId });
    assert.equal(await grants(), 0);
  }
});

test('RetireGrant errors', async () => {
  const { h, md, token } = await setup();
  await rejects(h.call('RetireGrant', {}), 'ValidationException', 'Grant token OR (grant ID, key ID) must be specified');
  await rejects(h.call('RetireGrant', { KeyId: md.KeyId }), 'ValidationException', 'Grant token OR (grant ID, key ID) must be specified');
  await rejects(h.call('RetireGrant', { GrantToken: token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA') }), 'InvalidGrantTokenException', 'The grant token is not valid.');
  await rejects(h.call('RetireGrant', { GrantToken: 'not a token' }), 'InvalidGrantTokenException', 'The grant token is not valid.');
  await rejects(h.call('RetireGrant', { KeyId: md.KeyId, GrantId: 'abc' }), 'InvalidGrantIdException', 'Invalid grant ID: abc');
  await rejects(h.call('RetireGrant', { KeyId: md.KeyId, GrantId: 'a'.repeat(64) }), 'NotFoundException', `Grant ID ${'a'.repeat(64)} not found`);
});
