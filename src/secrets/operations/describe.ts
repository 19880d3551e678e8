// The secret metadata DescribeSecret and ListSecrets return (no values, ever).
import { epochSeconds } from '../context.ts';
import type { SecretRecord } from '../model.ts';

export function describeOf(rec: SecretRecord, withVersions = true): Record<string, unknown> {
  const r = rec.rotation;
  const out: Record<string, unknown> = {
    ARN: rec.arn,
    Name: rec.name,
    ...(rec.description !== undefined ? { Description: rec.description } : {}),
    ...(rec.kmsKeyId !== undefined ? { KmsKeyId: rec.kmsKeyId } : {}),
    RotationEnabled: r?.enabled === true,
    ...(r?.lambdaArn ? { RotationLambdaARN: r.lambdaArn } : {}),
    ...(r?.rules ? { RotationRules: { ...r.rules } } : {}),
    ...(r?.lastRotated !== undefined ? { LastRotatedDate: epochSeconds(r.lastRotated) } : {}),
    ...(r?.enabled && r.next !== undefined ? { NextRotationDate: epochSeconds(r.next) } : {}),
    LastChangedDate: epochSeconds(rec.lastChanged),
    ...(rec.lastAccessed !== undefined ? { LastAccessedDate: epochSeconds(rec.lastAccessed) } : {}),
    ...(rec.deleted !== undefined ? { DeletedDate: epochSeconds(rec.deleted) } : {}),
    ...(rec.tags.length > 0 ? { Tags: rec.tags.map((t) => ({ ...t })) } : {}),
    CreatedDate: epochSeconds(rec.created),
  };
  if (withVersions) {
    const map: Record<string, string[]> = {};
    for (const v of Object.values(rec.versions)) if (v.stages.length > 0) map[v.id] = [...v.stages];
    out['VersionIdsToStages'] = map;
  } else {
    const map: Record<string, string[]> = {};
    for (const v of Object.values(rec.versions)) if (v.stages.length > 0) map[v.id] = [...v.stages];
    out['SecretVersionsToStages'] = map;
  }
  return out;
}
