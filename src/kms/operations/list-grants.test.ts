import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCOUNT, allow, harness, rejects, user } from '../testing.ts';

test('ListGrants pages in creation order and filters by GrantId and GranteePrincipal', async () => {
  const h = await harness();
  const md = await h.createKey();
  const ids: string[] = [];
  for (const name of ['a', 'b', 'c']) {
    const r = await h.call('CreateGrant', { KeyId: md.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/${name}`, Operations: ['Encrypt'] });
    ids.push(String(r['GrantId']));
    h.advance(1000);
  }
  const seen: string[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await h.call('ListGrants', { KeyId: md.KeyId, Limit: 2, ...(marker ? { Marker: marker } : {}) });
    seen.push(...(page['Grants'] as { GrantId: string }[]).map((g) => g.GrantId));
    if (page['Truncated'] !== true) break;
    marker = String(page['NextMarker']);
  }
  assert.deepEqual(seen, ids);
  const byGrantee = await h.call('ListGrants', { KeyId: md.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/b` });
  assert.deepEqual((byGrantee['Grants'] as { GrantId: string }[]).map((g) => g.GrantId), [ids[1]]);
  const byId = await h.call('ListGrants', { KeyId: md.KeyId, GrantId: ids[2] });
  assert.deepEqual((byId['Grants'] as { GrantId: string }[]).map((g) => g.GrantId), [ids[2]]);
  await rejects(h.call('ListGrants', { KeyId: md.KeyId, GrantId: 'nope' }), 'InvalidGrantIdException', 'Invalid grant ID: nope');
  await rejects(h.call('ListGrants', { KeyId: md.KeyId, Marker: 'bogus' }), 'InvalidMarkerException', /pagination marker is not valid/);
  await rejects(h.callAs(user('u', allow('kms:Encrypt')), 'ListGrants', { KeyId: md.KeyId }), 'AccessDeniedException',
    `User: arn:aws:iam::${ACCOUNT}:user/u is not authorized to perform: kms:ListGrants on resource: ${md.Arn} because no identity-based policy allows the kms:ListGrants action`);
});
