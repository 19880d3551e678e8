// RetireGrant: deletes a grant, identified by its grant token or by key and grant id. Who may
// retire it is decided by the grant itself (src/kms/authz.ts retire()). The grant stops working at
// once on this node and within the key cache TTL (1 s) on every other node.
import { DryRunOperationException, ValidationException } from '../../errors.ts';
import { keyNotFound, operation } from '../context.ts';
import { resolveKeyId } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { RetireGrantRequest } from '../wire.ts';
import { checkGrantId, G, grantNotFound } from '../grants/wire.ts';
import { DRY_RUN_MESSAGE } from './encrypt.ts';

export const retireGrant = operation<RetireGrantRequest>({
  name: 'RetireGrant',
  input: S.struct({ GrantToken: G.GrantToken, KeyId: T.KeyId, GrantId: G.GrantId, DryRun: T.Boolean }),
  async run(ctx, req, call) {
    let keyId: string;
    let grantId: string;
    if (req.GrantToken !== undefined) {
      // AWS KMS: "To identify the grant to retire, use a grant token, or both the grant ID and a key
      // identifier (key ID or key ARN) of the KMS key."
      const claims = await ctx.tokens.open(req.GrantToken);
      keyId = claims.keyId;
      grantId = claims.grantId;
    } else {
      if (req.KeyId === undefined || req.GrantId === undefined) throw new ValidationException('Grant token OR (grant ID, key ID) must be specified');
      keyId = await resolveKeyId(ctx, req.KeyId, 'key');
      checkGrantId(req.GrantId);
      grantId = req.GrantId;
    }
    // AWS KMS key states: RetireGrant works in every key state.
    await ctx.grants.change(ctx.store, keyId, () => keyNotFound(ctx, keyId), (rec, set) => {
      const g = set.grants.find((x) => x.grantId === grantId);
      if (!g) throw grantNotFound(grantId);
      call.authz.retire(g, rec.arn, rec.accountId);
      if (req.DryRun === true) throw new DryRunOperationException(DRY_RUN_MESSAGE);
      return { remove: g };
    });
    return {};
  },
});
