// RotateSecret: configure rotation (RotationLambdaARN, RotationRules) and, unless
// RotateImmediately is false, start a rotation job now (src/secrets/rotation/job.ts).
import { randomUUID } from '../../crypto/index.ts';
import { InvalidRequestException } from '../../errors.ts';
import { S } from '../../validation/request.ts';
import { operation, requireClientRequestToken, requireNotDeleted } from '../context.ts';
import { AWSCURRENT, versionWithStage } from '../model.ts';
import { checkRules, nextRotation } from '../rotation/schedule.ts';
import { M, type RotateSecretRequest } from '../wire.ts';

export const rotateSecret = operation<RotateSecretRequest>({
  name: 'RotateSecret',
  input: S.struct({
    SecretId: M.SecretId, ClientRequestToken: M.ClientRequestToken, RotationLambdaARN: M.RotationLambdaARN,
    RotationRules: M.RotationRules, RotateImmediately: M.Boolean,
  }, ['SecretId']),
  async run(ctx, req, call) {
    requireClientRequestToken(req.ClientRequestToken);
    if (req.RotationRules) checkRules(req.RotationRules);
    const immediately = req.RotateImmediately !== false;
    const versionId = req.ClientRequestToken ?? randomUUID();
    return ctx.retry(async () => {
      const { rec, version } = await ctx.require(req.SecretId);
      ctx.authorize(call, 'secretsmanager:RotateSecret', rec);
      requireNotDeleted(rec);
      const lambdaArn = req.RotationLambdaARN || rec.rotation?.lambdaArn;
      if (!lambdaArn) throw new InvalidRequestException('No Lambda rotation function ARN is associated with this secret.');
      await ctx.deps.rotation.resolve(lambdaArn);
      // AWS: a rotation that has not finished is continued, not restarted (one rotation per secret at a time)
      const jobId = rec.rotation?.jobId;
      if (jobId !== undefined && rec.rotation?.pendingVersion !== versionId && (await ctx.deps.rotation.isActive(jobId))) {
        throw new InvalidRequestException("A previous rotation isn't complete. That rotation will be continued.");
      }
      if (immediately && !versionWithStage(rec, AWSCURRENT)) throw new InvalidRequestException('The secret has no AWSCURRENT version to rotate.');
      const before = structuredClone(rec);
      const rules = req.RotationRules ?? rec.rotation?.rules;
      const now = ctx.now();
      const r = { ...(rec.rotation ?? {}), enabled: true, lambdaArn, ...(rules ? { rules } : {}) };
      const next = nextRotation(rules, now);
      if (next !== undefined) r.next = next;
      else delete r.next;
      if (immediately) {
        await ctx.passGate({ ARN: rec.arn, Name: rec.name, VersionId: versionId });
        r.jobId = await ctx.deps.rotation.enqueue(rec, versionId, lambdaArn);
        r.pendingVersion = versionId;
      }
      rec.rotation = r;
      rec.lastChanged = now;
      await ctx.commit(rec, rec.name, version, before, [], { ARN: rec.arn, Name: rec.name });
      return { ARN: rec.arn, Name: rec.name, ...(immediately ? { VersionId: versionId } : {}) };
    });
  },
});
