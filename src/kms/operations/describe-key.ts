// DescribeKey: the key's metadata; any key state; key id, key ARN, alias name or alias ARN.
import { operation } from '../context.ts';
import { keyMetadata } from '../model.ts';
import { requestAliasOf, resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { DescribeKeyRequest } from '../wire.ts';

export const describeKey = operation<DescribeKeyRequest>({
  name: 'DescribeKey',
  input: S.struct({ KeyId: T.KeyId, GrantTokens: T.GrantTokens }, ['KeyId']),
  async run(ctx, req, call) {
    const key = await resolveKey(ctx, req.KeyId, 'any');
    await call.authz.key(key, 'kms:DescribeKey', { requestAlias: requestAliasOf(req.KeyId), grantTokens: req.GrantTokens });
    return { KeyMetadata: keyMetadata(key.record) };
  },
});
