// GetSecretValue: a version's value by VersionId and/or VersionStage (default AWSCURRENT).
import { InvalidRequestException, ResourceNotFoundException } from '../../errors.ts';
import { S } from '../../validation/request.ts';
import { epochSeconds, operation, requireNotDeleted, type Loaded, type SecretsCall, type SecretsContext } from '../context.ts';
import { AWSCURRENT, secretPath, type SecretRecord, type VersionMeta } from '../model.ts';
import { M, type GetSecretValueRequest } from '../wire.ts';

const POLL_MS = 50;

/**
 * The version a request names. AWS: "If you specify both [VersionId and VersionStage], they must
 * refer to the same version"; without either, AWSCURRENT.
 */
export function selectVersion(rec: SecretRecord, versionId: string | undefined, stage: string | undefined): VersionMeta {
  if (versionId !== undefined) {
    const v = rec.versions[versionId];
    if (!v) throw new ResourceNotFoundException(`Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
    if (stage !== undefined && !v.stages.includes(stage)) {
      throw new InvalidRequestException(`You provided a VersionStage that is not associated to the provided VersionId.`);
    }
    return v;
  }
  const s = stage ?? AWSCURRENT;
  const v = Object.values(rec.versions).find((x) => x.stages.includes(s));
  if (!v) throw new ResourceNotFoundException(`Secrets Manager can't find the specified secret value for staging label: ${s}`);
  return v;
}

/**
 * While an invalidatesCurrent rotation switches the password (docs/SECRETS.md, "Switching window"),
 * AWSCURRENT waits (bounded) for the switch to commit, so a client re-reading after an
 * authentication failure gets the password that works.
 */
export async function waitForSwitch(ctx: SecretsContext, secretId: string, loaded: Loaded, wantsCurrent: boolean): Promise<Loaded> {
  if (!wantsCurrent || !loaded.rec.switching) return loaded;
  const deadline = Date.now() + ctx.deps.switchWaitMs;
  let cur = loaded;
  while (cur.rec.switching && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    cur = (await ctx.find(secretId)) ?? cur;
  }
  return cur;
}

const DAY = 86_400_000;

/**
 * LastAccessedDate of the secret and of the version read: the UTC day (AWS keeps the date, not
 * the time; LocalStack test_secretsmanager.py test_last_accessed_date, markers.aws.validated:
 * absent before the first GetSecretValue, present after, the same after a second read that day;
 * test_secretsmanager.snapshot.json test_rotate_secret_with_lambda_success
 * "list_secret_versions_rotated_1": only the version that was read has it). Written at most once
 * a day per secret and version; not audited (a read changes nothing the caller set), and a
 * concurrent write that wins the compare-and-swap just leaves it to the next read.
 */
async function markAccessed(ctx: SecretsContext, loaded: Loaded, versionId: string): Promise<void> {
  const day = Math.floor(ctx.now() / DAY) * DAY;
  if (loaded.rec.lastAccessed === day && loaded.rec.versions[versionId]?.lastAccessed === day) return;
  const rec = structuredClone(loaded.rec);
  rec.lastAccessed = day;
  const v = rec.versions[versionId];
  if (v) v.lastAccessed = day;
  try {
    await ctx.deps.barrier.transaction([{ type: 'put', key: secretPath(rec.name), value: Buffer.from(JSON.stringify(rec)), expectVersion: loaded.version }]);
  } catch {
    // CasConflict (or storage trouble): the read itself succeeded; the next read records it.
  }
}

export async function readValue(ctx: SecretsContext, secretId: string, versionId: string | undefined, stage: string | undefined, call: SecretsCall): Promise<Record<string, unknown>> {
  let loaded = await ctx.require(secretId);
  ctx.authorize(call, 'secretsmanager:GetSecretValue', loaded.rec);
  requireNotDeleted(loaded.rec);
  loaded = await waitForSwitch(ctx, secretId, loaded, versionId === undefined && (stage === undefined || stage === AWSCURRENT));
  const rec = loaded.rec;
  const v = selectVersion(rec, versionId, stage);
  const value = await ctx.wireValue(rec, v, call);
  await markAccessed(ctx, loaded, v.id);
  return { ARN: rec.arn, Name: rec.name, VersionId: v.id, ...value, VersionStages: [...v.stages], CreatedDate: epochSeconds(v.created) };
}

export const getSecretValue = operation<GetSecretValueRequest>({
  name: 'GetSecretValue',
  input: S.struct({ SecretId: M.SecretId, VersionId: M.VersionId, VersionStage: M.VersionStage }, ['SecretId']),
  run: (ctx, req, call) => readValue(ctx, req.SecretId, req.VersionId, req.VersionStage, call),
});
