// PutKeyPolicy: replaces the key policy. The new policy takes effect at once on this node (the key
// cache entry is invalidated) and within the cache TTL (1 s) on every other node.
import { keyNotFound, operation } from '../context.ts';
import { checkPolicyName, validatePolicy } from '../policy.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { PutKeyPolicyRequest } from '../wire.ts';

export const putKeyPolicy = operation<PutKeyPolicyRequest>({
  name: 'PutKeyPolicy',
  input: S.struct({ KeyId: T.KeyId, PolicyName: T.PolicyName, Policy: T.Policy, BypassPolicyLockoutSafetyCheck: T.Boolean }, ['KeyId', 'Policy']),
  async run(ctx, req, call) {
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:PutKeyPolicy');
    checkPolicyName(req.PolicyName);
    const compiled = validatePolicy(req.Policy);
    // AWS KMS: "If you omit this parameter or set it to false, the policy lockout safety check
    // ensures that the principal making the request can make a subsequent PutKeyPolicy request."
    if (req.BypassPolicyLockoutSafetyCheck !== true) call.authz.checkLockout(compiled, key.record.arn, ctx.clock());
    const keyId = key.record.keyId;
    // AWS KMS key states: PutKeyPolicy works in every key state, including PendingDeletion.
    await ctx.store.updateKey(keyId, (rec) => {
      ctx.lifecycle?.guard(rec, 'PutKeyPolicy'); // the policy of an AWS managed key cannot be changed
      rec.policy = req.Policy;
    }, () => keyNotFound(ctx, keyId));
    return {};
  },
});
