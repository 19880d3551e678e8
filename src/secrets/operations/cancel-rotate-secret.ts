// CancelRotateSecret: turn rotation off and cancel a rotation in flight. rekey also removes the
// AWSPENDING label of the cancelled rotation (AWS leaves that to the caller; docs/SECRETS.md), so
// the next RotateSecret starts cleanly; AWSCURRENT is never touched.
import { S } from '../../validation/request.ts';
import { operation, requireNotDeleted } from '../context.ts';
import { AWSCURRENT, AWSPENDING } from '../model.ts';
import { M, type SecretIdRequest } from '../wire.ts';

export const cancelRotateSecret = operation<SecretIdRequest>({
  name: 'CancelRotateSecret',
  input: S.struct({ SecretId: M.SecretId }, ['SecretId']),
  async run(ctx, req, call) {
    return ctx.retry(async () => {
      const { rec, version } = await ctx.require(req.SecretId);
      ctx.authorize(call, 'secretsmanager:CancelRotateSecret', rec);
      requireNotDeleted(rec);
      const before = structuredClone(rec);
      const r = rec.rotation ?? { enabled: false };
      const pendingVersion = r.pendingVersion;
      await ctx.passGate({ ARN: rec.arn, Name: rec.name });
      if (r.jobId) await ctx.deps.rotation.cancel(r.jobId);
      const pv = pendingVersion ? rec.versions[pendingVersion] : undefined;
      if (pv && !pv.stages.includes(AWSCURRENT)) pv.stages = pv.stages.filter((s) => s !== AWSPENDING);
      delete r.jobId;
      delete r.pendingVersion;
      delete r.next;
      r.enabled = false;
      rec.rotation = r;
      delete rec.switching;
      rec.lastChanged = ctx.now();
      await ctx.commit(rec, rec.name, version, before);
      return { ARN: rec.arn, Name: rec.name, ...(pendingVersion ? { VersionId: pendingVersion } : {}) };
    });
  },
});
