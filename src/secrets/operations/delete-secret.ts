// DeleteSecret: schedule deletion after a recovery window (7-30 days, default 30), or delete at once.
// The deletion due index (secrets/del/) feeds the secrets.delete job (src/secrets/rotation/jobs.ts).
import { InvalidParameterException, InvalidRequestException } from '../../errors.ts';
import { S } from '../../validation/request.ts';
import { isValidKey } from '../../storage/backend.ts';
import { checkSecretId, epochSeconds, MARKED_FOR_DELETION, notFound, operation, type SecretsContext } from '../context.ts';
import { secretPath, valuePath, type SecretRecord } from '../model.ts';
import { M, type DeleteSecretRequest } from '../wire.ts';

const DAY = 86_400_000;

/** Removes a secret and every stored value now; unregisters it from its keys. */
export async function purge(ctx: SecretsContext, name: string, onlyIfDeleted: boolean): Promise<SecretRecord | null> {
  const removed = await ctx.retry(async () => {
    const got = await ctx.byName(name);
    if (!got || (onlyIfDeleted && got.rec.deleted === undefined)) return null;
    const { rec, version } = got;
    const ops = Object.keys(rec.versions).map((id) => ({ type: 'delete' as const, key: valuePath(rec.uid, id) }));
    await ctx.commit(null, rec.name, version, rec, ops, { ARN: rec.arn, Name: rec.name });
    return rec;
  });
  if (removed) {
    const keys = new Set([removed.keyArn, ...Object.values(removed.versions).map((v) => v.keyArn)]);
    for (const k of keys) await ctx.deps.kms.dependents.unregister(k, removed.arn).catch(() => false);
    if (removed.rotation?.jobId) await ctx.deps.rotation.cancel(removed.rotation.jobId).catch(() => {});
  }
  return removed;
}

export const deleteSecret = operation<DeleteSecretRequest>({
  name: 'DeleteSecret',
  input: S.struct({ SecretId: M.SecretId, RecoveryWindowInDays: S.integer(), ForceDeleteWithoutRecovery: M.Boolean }, ['SecretId']),
  async run(ctx, req, call) {
    // The range comes first: AWS answers RecoveryWindowInDays 0 with ForceDeleteWithoutRecovery
    // with the range message (reproduced against AWS in getmoto/moto issue 6461).
    const days = req.RecoveryWindowInDays ?? 30;
    if (days < 7 || days > 30) throw new InvalidParameterException('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
    if (req.RecoveryWindowInDays !== undefined && req.ForceDeleteWithoutRecovery === true) {
      throw new InvalidParameterException("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
    }
    checkSecretId(req.SecretId);
    const found = await ctx.find(req.SecretId);
    if (!found) {
      // AWS answers ForceDeleteWithoutRecovery on a name no secret has as if it deleted one
      // (LocalStack test_secretsmanager.py, test_delete_non_existent_secret_returns_as_if_secret_exists,
      // markers.aws.validated: Name is the SecretId, ARN and DeletionDate are set). Only for a
      // name that a secret could have; an ARN or an impossible name stays ResourceNotFoundException.
      const name = req.SecretId;
      if (req.ForceDeleteWithoutRecovery !== true || name.startsWith('arn:') || name.length > 512 || !isValidKey(secretPath(name))) throw notFound();
      const arn = ctx.newArn(name);
      ctx.authorize(call, 'secretsmanager:DeleteSecret', { arn, tags: [] } as unknown as SecretRecord);
      return { ARN: arn, Name: name, DeletionDate: epochSeconds(ctx.now()) };
    }
    const { rec } = found;
    ctx.authorize(call, 'secretsmanager:DeleteSecret', rec);
    if (req.ForceDeleteWithoutRecovery === true) {
      const now = ctx.now();
      await purge(ctx, rec.name, false);
      return { ARN: rec.arn, Name: rec.name, DeletionDate: epochSeconds(now) };
    }
    return ctx.retry(async () => {
      const { rec: cur, version } = await ctx.require(rec.arn);
      if (cur.deleted !== undefined) throw new InvalidRequestException(MARKED_FOR_DELETION);
      const before = structuredClone(cur);
      const now = ctx.now();
      cur.deleted = now;
      cur.deletionDate = now + days * DAY;
      await ctx.commit(cur, cur.name, version, before, [], { ARN: cur.arn, Name: cur.name });
      return { ARN: cur.arn, Name: cur.name, DeletionDate: epochSeconds(cur.deletionDate) };
    });
  },
});
