// RevokeGrant: deletes a grant; authorized like most operations, by kms:RevokeGrant in the key
// policy or IAM policies (typically the key administrators'). The grant stops working at once on
// this node and within the key cache TTL (1 s) on every other node.
import { DryRunOperationException } from '../../errors.ts';
import { keyNotFound, operation } from '../context.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { RevokeGrantRequest } from '../wire.ts';
import { checkGrantId, G, grantNotFound } from '../grants/wire.ts';
import { DRY_RUN_MESSAGE } from './encrypt.ts';

export const revokeGrant = operation<RevokeGrantRequest>({
  name: 'RevokeGrant',
  input: S.struct({ KeyId: T.KeyId, GrantId: G.GrantId, DryRun: T.Boolean }, ['KeyId', 'GrantId']),
  async run(ctx, req, call) {
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:RevokeGrant');
    checkGrantId(req.GrantId);
    const keyId = key.record.keyId;
    // AWS KMS key states: RevokeGrant works in every key state.
    await ctx.grants.change(ctx.store, keyId, () => keyNotFound(ctx, keyId), (_rec, set) => {
      const g = set.grants.find((x) => x.grantId === req.GrantId);
      if (!g) throw grantNotFound(req.GrantId);
      if (req.DryRun === true) throw new DryRunOperationException(DRY_RUN_MESSAGE);
      return { remove: g };
    });
    return {};
  },
});
