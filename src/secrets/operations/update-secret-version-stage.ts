// UpdateSecretVersionStage: move or remove a staging label (AWSCURRENT drags AWSPREVIOUS along).
import { S } from '../../validation/request.ts';
import { operation, requireNotDeleted } from '../context.ts';
import { updateStage } from '../labels.ts';
import { AWSCURRENT } from '../model.ts';
import { M } from '../wire.ts';

interface Req { SecretId: string; VersionStage: string; RemoveFromVersionId?: string; MoveToVersionId?: string }

export const updateSecretVersionStage = operation<Req>({
  name: 'UpdateSecretVersionStage',
  input: S.struct({ SecretId: M.SecretId, VersionStage: M.VersionStage, RemoveFromVersionId: M.VersionId, MoveToVersionId: M.VersionId }, ['SecretId', 'VersionStage']),
  async run(ctx, req, call) {
    return ctx.retry(async () => {
      const { rec, version } = await ctx.require(req.SecretId);
      ctx.authorize(call, 'secretsmanager:UpdateSecretVersionStage', rec);
      requireNotDeleted(rec);
      const before = structuredClone(rec);
      updateStage(rec, req.VersionStage, req.MoveToVersionId, req.RemoveFromVersionId);
      rec.lastChanged = ctx.now();
      // a switch in flight ends when AWSCURRENT moves (a strategy's finishSecret done by hand)
      if (req.VersionStage === AWSCURRENT) delete rec.switching;
      await ctx.commit(rec, rec.name, version, before, [], { ARN: rec.arn, Name: rec.name });
      return { ARN: rec.arn, Name: rec.name };
    });
  },
});
