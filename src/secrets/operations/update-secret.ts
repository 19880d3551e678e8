// UpdateSecret: description, KMS key and/or a new value (a new AWSCURRENT version).
import { S } from '../../validation/request.ts';
import { kmsFailure, operation, requireClientRequestToken, requireNotDeleted } from '../context.ts';
import { valueOf } from '../values.ts';
import { putVersion } from './put-secret-value.ts';
import { M, type UpdateSecretRequest } from '../wire.ts';

export const updateSecret = operation<UpdateSecretRequest>({
  name: 'UpdateSecret',
  input: S.struct({
    SecretId: M.SecretId, ClientRequestToken: M.ClientRequestToken, Description: M.Description, KmsKeyId: M.KmsKeyId,
    SecretBinary: M.SecretBinary, SecretString: M.SecretString,
  }, ['SecretId']),
  async run(ctx, req, call) {
    if (req.SecretString !== undefined || req.SecretBinary !== undefined) requireClientRequestToken(req.ClientRequestToken);
    const value = valueOf(req, false);
    let keyChange: { from: string; to: string; arn: string; name: string } | null = null;
    let stillUsed = new Set<string>();
    const meta = await ctx.retry(async () => {
      const { rec, version } = await ctx.require(req.SecretId);
      ctx.authorize(call, 'secretsmanager:UpdateSecret', rec);
      requireNotDeleted(rec);
      const before = structuredClone(rec);
      let changed = false;
      if (req.Description !== undefined) {
        rec.description = req.Description;
        changed = true;
      }
      if (req.KmsKeyId !== undefined) {
        const next = req.KmsKeyId === '' ? undefined : req.KmsKeyId;
        let keyArn: string;
        try {
          keyArn = next === undefined ? await ctx.keyFor(undefined) : (await ctx.deps.kms.resolveForUse(next)).arn;
        } catch (e) {
          throw kmsFailure(e, 'encrypt');
        }
        if (keyArn !== rec.keyArn) keyChange = { from: rec.keyArn, to: keyArn, arn: rec.arn, name: rec.name };
        if (next === undefined) delete rec.kmsKeyId;
        else rec.kmsKeyId = next;
        rec.keyArn = keyArn;
        changed = true;
      }
      if (changed) {
        rec.lastChanged = ctx.now();
        const reencrypted = keyChange ? await ctx.reencryptOps(rec, call) : [];
        await ctx.commit(rec, rec.name, version, before, reencrypted, { ARN: rec.arn, Name: rec.name });
        stillUsed = new Set([rec.keyArn, ...Object.values(rec.versions).map((v) => v.keyArn)]);
      }
      return { arn: rec.arn, name: rec.name };
    });
    const kc = keyChange as { from: string; to: string; arn: string; name: string } | null;
    if (kc) {
      // the secret depends on its new key (AWSCURRENT, AWSPENDING and AWSPREVIOUS were encrypted again under it)
      await ctx.deps.kms.dependents.register(kc.to, { type: 'secret', arn: kc.arn, name: kc.name }).catch(() => {});
      // the old key stays a dependency while a version is still encrypted only under it
      if (!stillUsed.has(kc.from)) await ctx.deps.kms.dependents.unregister(kc.from, kc.arn).catch(() => false);
    }
    if (value) {
      const r = await putVersion(ctx, req.SecretId, value, req.ClientRequestToken, undefined, call, 'secretsmanager:UpdateSecret');
      return { ARN: r.arn, Name: r.name, VersionId: r.versionId };
    }
    return { ARN: meta.arn, Name: meta.name };
  },
});
