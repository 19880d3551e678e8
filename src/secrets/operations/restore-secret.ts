// RestoreSecret: cancel a scheduled deletion (the deletion due entry goes with the same write).
import { S } from '../../validation/request.ts';
import { operation } from '../context.ts';
import { M, type SecretIdRequest } from '../wire.ts';

export const restoreSecret = operation<SecretIdRequest>({
  name: 'RestoreSecret',
  input: S.struct({ SecretId: M.SecretId }, ['SecretId']),
  async run(ctx, req, call) {
    return ctx.retry(async () => {
      const { rec, version } = await ctx.require(req.SecretId);
      ctx.authorize(call, 'secretsmanager:RestoreSecret', rec);
      if (rec.deleted !== undefined) {
        const before = structuredClone(rec);
        delete rec.deleted;
        delete rec.deletionDate;
        rec.lastChanged = ctx.now();
        await ctx.commit(rec, rec.name, version, before, [], { ARN: rec.arn, Name: rec.name });
      }
      return { ARN: rec.arn, Name: rec.name };
    });
  },
});
