// DeleteResourcePolicy: remove the resource policy.
import { S } from '../../validation/request.ts';
import { operation } from '../context.ts';
import { M, type SecretIdRequest } from '../wire.ts';

export const deleteResourcePolicy = operation<SecretIdRequest>({
  name: 'DeleteResourcePolicy',
  input: S.struct({ SecretId: M.SecretId }, ['SecretId']),
  async run(ctx, req, call) {
    return ctx.retry(async () => {
      const { rec, version } = await ctx.require(req.SecretId);
      ctx.authorize(call, 'secretsmanager:DeleteResourcePolicy', rec);
      if (rec.policy !== undefined) {
        const before = structuredClone(rec);
        delete rec.policy;
        await ctx.commit(rec, rec.name, version, before, [], { ARN: rec.arn, Name: rec.name });
      }
      return { ARN: rec.arn, Name: rec.name };
    });
  },
});
