// ListKeys: every key in the account and Region, in key id order, paginated.
import { operation } from '../context.ts';
import { keyArn } from '../ids.ts';
import { decodeMarker, pageSize, pageTail } from '../pagination.ts';
import { S, T } from '../../validation/request.ts';
import type { ListKeysRequest } from '../wire.ts';

export const listKeys = operation<ListKeysRequest>({
  name: 'ListKeys',
  input: S.struct({ Limit: T.Limit, Marker: T.Marker }),
  async run(ctx, req, call) {
    // AWS KMS: kms:ListKeys (IAM policy, resource "*").
    call.authz.account('kms:ListKeys');
    // AWS KMS: Limit "must be between 1 and 1000, inclusive. If you do not include a value, it defaults to 100."
    const limit = pageSize(req.Limit, 100, 1000);
    const after = decodeMarker('ListKeys', req.Marker);
    const ids = await ctx.store.listKeyIds(after, limit + 1);
    const page = ids.slice(0, limit);
    return {
      Keys: page.map((id) => ({ KeyId: id, KeyArn: keyArn(ctx, id) })),
      ...pageTail('ListKeys', ids.length > limit, page[page.length - 1]),
    };
  },
});
