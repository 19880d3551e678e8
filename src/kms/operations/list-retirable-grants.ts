// ListRetirableGrants: every grant (on any key of the account) whose retiring principal is the
// given principal, from the retiring-principal index written with each grant.
import { operation } from '../context.ts';
import { decodeMarker, pageSize, pageTail } from '../pagination.ts';
import { S, T } from '../../validation/request.ts';
import type { GrantListEntry, ListRetirableGrantsRequest } from '../wire.ts';
import type { GrantRecord } from '../grants/model.ts';
import { checkPrincipal } from '../grants/match.ts';
import { G, grantEntry } from '../grants/wire.ts';

export const listRetirableGrants = operation<ListRetirableGrantsRequest>({
  name: 'ListRetirableGrants',
  input: S.struct({ Limit: T.Limit, Marker: T.Marker, RetiringPrincipal: G.Principal }, ['RetiringPrincipal']),
  async run(ctx, req, call) {
    // AWS KMS: "Required permissions: kms:ListRetirableGrants (IAM policy) in your AWS account."
    call.authz.account('kms:ListRetirableGrants');
    checkPrincipal(req.RetiringPrincipal);
    // AWS KMS: Limit "must be between 1 and 100, inclusive. If you do not include a value, it defaults to 50."
    const limit = pageSize(req.Limit, 50, 100);
    const listing = `ListRetirableGrants:${req.RetiringPrincipal}`;
    const after = decodeMarker(listing, req.Marker);
    const refs = await ctx.grants.retirable(req.RetiringPrincipal, after, limit + 1);
    const sets = new Map<string, GrantRecord[]>();
    const grants: GrantListEntry[] = [];
    for (const ref of refs.slice(0, limit)) {
      let list = sets.get(ref.keyId);
      if (!list) sets.set(ref.keyId, (list = (await ctx.grants.read(ref.keyId)).set.grants));
      const g = list.find((x) => x.grantId === ref.grantId);
      if (g) grants.push(grantEntry(ctx, g)); // else retired between the index read and this one
    }
    return { Grants: grants, ...pageTail(listing, refs.length > limit, refs[Math.min(limit, refs.length) - 1]?.grantId) };
  },
});
