import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT, allow, harness, rejects, user } from '../testing.ts';

test('ListRetirableGrants lists the grants of every key that a principal may retire, paginated', async () => {
  const h = await harness();
  const ops = `arn:aws:iam::${ACCOUNT}:role/ops`;
  const ids = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const md = await h.createKey();
    const r = await h.call('CreateGrant', { KeyId: md.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/app`, RetiringPrincipal: ops, Operations: ['Decrypt'] });
    ids.add(String(r['GrantId']));
    await h.call('CreateGrant', { KeyId: md.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/app`, Operations: ['Decrypt'] });
  }
  // a path-prefixed principal name must not match ops' grants
  assert.deepEqual((await h.call('ListRetirableGrants', { RetiringPrincipal: `${ops}/x` }))['Grants'], []);
  const seen = new Set<string>();
  let marker: string | undefined;
  for (;;) {
    const page = await h.call('ListRetirableGrants', { RetiringPrincipal: ops, Limit: 2, ...(marker ? { Marker: marker } : {}) });
    for (const g of page['Grants'] as { GrantId: string; RetiringPrincipal: string }[]) {
      assert.equal(g.RetiringPrincipal, ops);
      seen.add(g.GrantId);
    }
    if (page['Truncated'] !== true) break;
    marker = String(page['NextMarker']);
  }
  assert.deepEqual([...seen].sort(), [...ids].sort());
  await rejects(h.callAs(user('u', allow('kms:ListGrants')), 'ListRetirableGrants', { RetiringPrincipal: ops }), 'AccessDeniedException',
    `User: arn:aws:iam::${ACCOUNT}:user/u is not authorized to perform: kms:ListRetirableGrants on resource: * because no identity-based policy allows the kms:ListRetirableGrants action`);
  await h.callAs(user('v', allow('kms:ListRetirableGrants')), 'ListRetirableGrants', { RetiringPrincipal: ops });
  await rejects(h.call('ListRetirableGrants', { RetiringPrincipal: 'nobody' }), 'InvalidArnException', 'ARN does not refer to a valid principal: nobody');
});
