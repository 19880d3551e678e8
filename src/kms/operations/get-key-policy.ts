// GetKeyPolicy: the key policy document ("default" is the only policy name); any key state.
import { operation } from '../context.ts';
import { checkPolicyName, DEFAULT_POLICY_NAME } from '../policy.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { GetKeyPolicyRequest } from '../wire.ts';

export const getKeyPolicy = operation<GetKeyPolicyRequest>({
  name: 'GetKeyPolicy',
  input: S.struct({ KeyId: T.KeyId, PolicyName: T.PolicyName }, ['KeyId']),
  async run(ctx, req, call) {
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:GetKeyPolicy');
    // AWS KMS: PolicyName "If no policy name is specified, the default value is default."
    checkPolicyName(req.PolicyName);
    return { Policy: key.record.policy, PolicyName: DEFAULT_POLICY_NAME };
  },
});
