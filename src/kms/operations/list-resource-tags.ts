// ListResourceTags: a key's tags in tag-key order, paginated; any key state; key id or key ARN.
import { operation } from '../context.ts';
import { decodeMarker, pageSize, pageSorted, pageTail } from '../pagination.ts';
import { resolveKey } from '../resolve.ts';
import { toWireTags } from '../tags.ts';
import { S, T } from '../../validation/request.ts';
import type { ListResourceTagsRequest } from '../wire.ts';

export const listResourceTags = operation<ListResourceTagsRequest>({
  name: 'ListResourceTags',
  input: S.struct({ KeyId: T.KeyId, Limit: T.Limit, Marker: T.Marker }, ['KeyId']),
  async run(ctx, req, call) {
    // AWS KMS: Limit "must be between 1 and 50, inclusive. If you do not include a value, it defaults to 50."
    const limit = pageSize(req.Limit, 50, 50);
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:ListResourceTags');
    const keyId = key.record.keyId;
    const listing = `ListResourceTags:${keyId}`;
    const page = pageSorted(key.record.tags, (t) => t.key, decodeMarker(listing, req.Marker), limit);
    return { Tags: toWireTags(page.items), ...pageTail(listing, page.truncated, page.items[page.items.length - 1]?.key) };
  },
});
