// ListGrants: the grants of a key, oldest first, paginated; filters GrantId and GranteePrincipal.
// Read from storage (not the cache), so a grant created or revoked a moment ago shows as such.
import { operation } from '../context.ts';
import { decodeMarker, pageSize, pageSorted, pageTail } from '../pagination.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { ListGrantsRequest } from '../wire.ts';
import type { GrantRecord } from '../grants/model.ts';
import { checkGrantId, G, grantEntry } from '../grants/wire.ts';

/** Creation order, ties broken by id: a marker stays valid when the grant it names is gone. */
const order = (g: GrantRecord) => `${String(g.creationDate).padStart(16, '0')}:${g.grantId}`;

export const listGrants = operation<ListGrantsRequest>({
  name: 'ListGrants',
  input: S.struct({ KeyId: T.KeyId, Limit: T.Limit, Marker: T.Marker, GrantId: G.GrantId, GranteePrincipal: G.Principal }, ['KeyId']),
  async run(ctx, req, call) {
    // AWS KMS: Limit "must be between 1 and 100, inclusive. If you do not include a value, it defaults to 50."
    const limit = pageSize(req.Limit, 50, 100);
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:ListGrants');
    if (req.GrantId !== undefined) checkGrantId(req.GrantId);
    const keyId = key.record.keyId;
    const listing = `ListGrants:${keyId}:${req.GrantId ?? ''}:${req.GranteePrincipal ?? ''}`;
    const after = decodeMarker(listing, req.Marker);
    const { set } = await ctx.grants.read(keyId);
    const matching = set.grants
      .filter((g) => (req.GrantId === undefined || g.grantId === req.GrantId) && (req.GranteePrincipal === undefined || g.granteePrincipal === req.GranteePrincipal))
      .sort((a, b) => (order(a) < order(b) ? -1 : 1));
    const page = pageSorted(matching, order, after, limit);
    const last = page.items[page.items.length - 1];
    return { Grants: page.items.map((g) => grantEntry(ctx, g)), ...pageTail(listing, page.truncated, last && order(last)) };
  },
});
