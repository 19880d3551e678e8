// ListKeyPolicies: always ["default"]; any key state; key id or key ARN.
import { operation } from '../context.ts';
import { DEFAULT_POLICY_NAME } from '../policy.ts';
import { decodeMarker, pageSize, pageSorted, pageTail } from '../pagination.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { ListKeyPoliciesRequest } from '../wire.ts';

export const listKeyPolicies = operation<ListKeyPoliciesRequest>({
  name: 'ListKeyPolicies',
  input: S.struct({ KeyId: T.KeyId, Limit: T.Limit, Marker: T.Marker }, ['KeyId']),
  async run(ctx, req, call) {
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:ListKeyPolicies');
    const keyId = key.record.keyId;
    // AWS KMS: "The only valid policy name is default." Limit 1-1000, default 100.
    const listing = `ListKeyPolicies:${keyId}`;
    const page = pageSorted([DEFAULT_POLICY_NAME], (n) => n, decodeMarker(listing, req.Marker), pageSize(req.Limit, 100, 1000));
    return { PolicyNames: page.items, ...pageTail(listing, page.truncated, page.items[page.items.length - 1]) };
  },
});
