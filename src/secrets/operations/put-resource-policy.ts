// PutResourcePolicy: attach a resource policy (BlockPublicPolicy refuses one that allows anyone).
import { PublicPolicyException } from '../../errors.ts';
import { S } from '../../validation/request.ts';
import { operation, requireNotDeleted } from '../context.ts';
import { isPublic, parse } from '../policy.ts';
import { M } from '../wire.ts';

export const putResourcePolicy = operation<{ SecretId: string; ResourcePolicy: string; BlockPublicPolicy?: boolean }>({
  name: 'PutResourcePolicy',
  input: S.struct({ SecretId: M.SecretId, ResourcePolicy: M.ResourcePolicy, BlockPublicPolicy: M.Boolean }, ['SecretId', 'ResourcePolicy']),
  async run(ctx, req, call) {
    const spec = parse(req.ResourcePolicy);
    return ctx.retry(async () => {
      const { rec, version } = await ctx.require(req.SecretId);
      ctx.authorize(call, 'secretsmanager:PutResourcePolicy', rec);
      requireNotDeleted(rec);
      if (req.BlockPublicPolicy === true && isPublic(spec)) {
        throw new PublicPolicyException('The BlockPublicPolicy parameter is set to true, and the resource policy did not prevent broad access to the secret.');
      }
      const before = structuredClone(rec);
      rec.policy = req.ResourcePolicy;
      await ctx.commit(rec, rec.name, version, before, [], { ARN: rec.arn, Name: rec.name });
      return { ARN: rec.arn, Name: rec.name };
    });
  },
});
