// PutSecretValue: a new version; AWSCURRENT moves to it unless VersionStages says otherwise.
import { randomUUID } from '../../crypto/index.ts';
import { S } from '../../validation/request.ts';
import { operation, requireClientRequestToken, requireNotDeleted, type SecretsCall, type SecretsContext } from '../context.ts';
import { addVersion, pruneVersions } from '../labels.ts';
import { valuePath } from '../model.ts';
import { isRepeat, valueOf, type NewValue } from '../values.ts';
import { M, type PutSecretValueRequest } from '../wire.ts';

/**
 * Writes a new version (shared by PutSecretValue, UpdateSecret and the rotation job's createSecret).
 * A repeated ClientRequestToken with the same value returns the existing version unchanged.
 */
export async function putVersion(ctx: SecretsContext, secretId: string, value: NewValue, token: string | undefined, stages: readonly string[] | undefined, call: SecretsCall | null, action: string): Promise<{ arn: string; name: string; versionId: string; stages: string[] }> {
  const versionId = token ?? randomUUID();
  return ctx.retry(async () => {
    const { rec, version } = await ctx.require(secretId);
    if (call) ctx.authorize(call, action, rec);
    requireNotDeleted(rec);
    const existing = rec.versions[versionId];
    if (existing) {
      await isRepeat(ctx, rec, existing, value, call);
      return { arn: rec.arn, name: rec.name, versionId, stages: [...existing.stages] };
    }
    const before = structuredClone(rec);
    const { op, keyArn } = await ctx.encrypt(rec, versionId, value.bytes, call);
    const now = ctx.now();
    const v = addVersion(rec, { id: versionId, created: now, kind: value.kind, keyArn }, stages);
    rec.lastChanged = now;
    const removed = pruneVersions(rec).map((id) => ({ type: 'delete' as const, key: valuePath(rec.uid, id) }));
    await ctx.commit(rec, rec.name, version, before, [op, ...removed], { ARN: rec.arn, Name: rec.name, VersionId: versionId });
    return { arn: rec.arn, name: rec.name, versionId, stages: [...v.stages] };
  });
}

export const putSecretValue = operation<PutSecretValueRequest>({
  name: 'PutSecretValue',
  input: S.struct({
    SecretId: M.SecretId, ClientRequestToken: M.ClientRequestToken, SecretBinary: M.SecretBinary, SecretString: M.SecretString,
    VersionStages: M.VersionStages, RotationToken: S.string({ min: 36, max: 256, sensitive: true }),
  }, ['SecretId']),
  async run(ctx, req, call) {
    requireClientRequestToken(req.ClientRequestToken);
    const value = valueOf(req, true)!;
    const r = await putVersion(ctx, req.SecretId, value, req.ClientRequestToken, req.VersionStages, call, 'secretsmanager:PutSecretValue');
    return { ARN: r.arn, Name: r.name, VersionId: r.versionId, VersionStages: r.stages };
  },
});
