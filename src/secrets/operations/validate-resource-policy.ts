// ValidateResourcePolicy: check a policy's grammar and the broad-access check without attaching it.
import { S } from '../../validation/request.ts';
import { operation } from '../context.ts';
import { isPublic, parse } from '../policy.ts';
import { M } from '../wire.ts';

export const validateResourcePolicy = operation<{ SecretId?: string; ResourcePolicy: string }>({
  name: 'ValidateResourcePolicy',
  input: S.struct({ SecretId: M.SecretId, ResourcePolicy: M.ResourcePolicy }, ['ResourcePolicy']),
  async run(ctx, req, call) {
    const rec = req.SecretId !== undefined ? (await ctx.require(req.SecretId)).rec : null;
    ctx.authorize(call, 'secretsmanager:ValidateResourcePolicy', rec);
    const spec = parse(req.ResourcePolicy);
    const errors = isPublic(spec) ? [{ CheckName: 'BLOCK_PUBLIC_POLICY', ErrorMessage: 'The resource policy grants broad access to the secret (Principal "*" without a condition).' }] : [];
    return { PolicyValidationPassed: errors.length === 0, ValidationErrors: errors };
  },
});
