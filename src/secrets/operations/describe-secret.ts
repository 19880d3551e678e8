// DescribeSecret: metadata, rotation settings and version labels (works on secrets scheduled for deletion).
import { S } from '../../validation/request.ts';
import { operation } from '../context.ts';
import { describeOf } from './describe.ts';
import { M, type SecretIdRequest } from '../wire.ts';

export const describeSecret = operation<SecretIdRequest>({
  name: 'DescribeSecret',
  input: S.struct({ SecretId: M.SecretId }, ['SecretId']),
  async run(ctx, req, call) {
    const { rec } = await ctx.require(req.SecretId);
    ctx.authorize(call, 'secretsmanager:DescribeSecret', rec);
    return describeOf(rec);
  },
});
