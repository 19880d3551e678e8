// GetResourcePolicy: the secret's resource policy, if any.
import { S } from '../../validation/request.ts';
import { operation } from '../context.ts';
import { M, type SecretIdRequest } from '../wire.ts';

export const getResourcePolicy = operation<SecretIdRequest>({
  name: 'GetResourcePolicy',
  input: S.struct({ SecretId: M.SecretId }, ['SecretId']),
  async run(ctx, req, call) {
    const { rec } = await ctx.require(req.SecretId);
    ctx.authorize(call, 'secretsmanager:GetResourcePolicy', rec);
    return { ARN: rec.arn, Name: rec.name, ...(rec.policy !== undefined ? { ResourcePolicy: rec.policy } : {}) };
  },
});
