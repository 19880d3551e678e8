// GetResourcePolicy, PutResourcePolicy, DeleteResourcePolicy, ValidateResourcePolicy.
// A secret's resource policy is evaluated with the caller's identity policies (src/secrets/context.ts).
import { MalformedPolicyDocumentException, PublicPolicyException, RekeyError } from '../../errors.ts';
import { compilePolicy } from '../../iam/policy/compile.ts';
import { parsePolicy, type PolicySpec } from '../../iam/policy/parse.ts';
import { S } from '../../kms/validate.ts';
import { operation, requireNotDeleted } from '../context.ts';
import { M, type SecretIdRequest } from '../wire.ts';

function parse(text: string): PolicySpec {
  try {
    const spec = parsePolicy(text, 'resource');
    compilePolicy(text, 'resource');
    return spec;
  } catch (e) {
    if (e instanceof MalformedPolicyDocumentException) throw e;
    if (e instanceof RekeyError) throw new MalformedPolicyDocumentException(e.message);
    throw e;
  }
}

/**
 * AWS Secrets Manager (Zelkova-based) "broad access" check, simplified: an Allow statement whose
 * principal is "*" (or {"AWS": "*"}) and that has no condition grants access to anyone.
 */
export function isPublic(spec: PolicySpec): boolean {
  return spec.statements.some((st) => st.effect === 'Allow' && st.principal !== undefined && !st.principal.not
    && (st.principal.spec.any || st.principal.spec.aws.includes('*')) && st.conditions.length === 0);
}

export const getResourcePolicy = operation<SecretIdRequest>({
  name: 'GetResourcePolicy',
  input: S.struct({ SecretId: M.SecretId }, ['SecretId']),
  async run(ctx, req, call) {
    const { rec } = await ctx.require(req.SecretId);
    ctx.authorize(call, 'secretsmanager:GetResourcePolicy', rec);
    return { ARN: rec.arn, Name: rec.name, ...(rec.policy !== undefined ? { ResourcePolicy: rec.policy } : {}) };
  },
});

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
