// PutKeyPolicy: replaces the key policy (validated and stored here; enforced by the identity component).
import { keyNotFound, operation } from '../context.ts';
import { checkPolicyName, validatePolicy } from '../policy.ts';
import { resolveKeyId } from '../resolve.ts';
import { S, T } from '../validate.ts';
import type { PutKeyPolicyRequest } from '../wire.ts';

export const putKeyPolicy = operation<PutKeyPolicyRequest>({
  name: 'PutKeyPolicy',
  input: S.struct({ KeyId: T.KeyId, PolicyName: T.PolicyName, Policy: T.Policy, BypassPolicyLockoutSafetyCheck: T.Boolean }, ['KeyId', 'Policy']),
  async run(ctx, req) {
    const keyId = await resolveKeyId(ctx, req.KeyId, 'key');
    checkPolicyName(req.PolicyName);
    validatePolicy(req.Policy);
    // AWS KMS key states: PutKeyPolicy works in every key state, including PendingDeletion.
    await ctx.store.updateKey(keyId, (rec) => {
      rec.policy = req.Policy;
    }, () => keyNotFound(ctx, keyId));
    return {};
  },
});
