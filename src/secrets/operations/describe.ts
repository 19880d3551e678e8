// The secret metadata DescribeSecret and ListSecrets return (no values, ever).
import { epochSeconds } from '../context.ts';
import type { SecretRecord } from '../model.ts';

/**
 * Keys AWS leaves out when they have no value (LocalStack
 * tests/aws/services/secretsmanager/test_secretsmanager.snapshot.json): RotationEnabled until
 * rotation was ever configured (test_force_delete_deleted_secret "describe_secret_response",
 * test_update_secret_description "describe_secret_res_0"), VersionIdsToStages of a secret without
 * versions and an empty Description (test_create_secret_version_from_empty_secret "describe-secret").
 */
export function describeOf(rec: SecretRecord, withVersions = true): Record<string, unknown> {
  const r = rec.rotation;
  const out: Record<string, unknown> = {
    ARN: rec.arn,
    Name: rec.name,
    ...(rec.description ? { Description: rec.description } : {}),
    ...(rec.kmsKeyId !== undefined ? { KmsKeyId: rec.kmsKeyId } : {}),
    ...(r !== undefined ? { RotationEnabled: r.enabled === true } : {}),
    ...(r?.lambdaArn ? { RotationLambdaARN: r.lambdaArn } : {}),
    ...(r?.rules ? { RotationRules: { ...r.rules } } : {}),
    ...(r?.lastRotated !== undefined ? { LastRotatedDate: epochSeconds(r.lastRotated) } : {}),
    ...(r?.enabled && r.next !== undefined ? { NextRotationDate: epochSeconds(r.next) } : {}),
    LastChangedDate: epochSeconds(rec.lastChanged),
    ...(rec.lastAccessed !== undefined ? { LastAccessedDate: epochSeconds(rec.lastAccessed) } : {}),
    ...(rec.deleted !== undefined ? { DeletedDate: epochSeconds(rec.deleted) } : {}),
    // Tags: [] once a secret had tags (test_secret_tags "describe_secret_4"), absent before ("describe_secret")
    ...(rec.tags.length > 0 || rec.tagged ? { Tags: rec.tags.map((t) => ({ ...t })) } : {}),
    CreatedDate: epochSeconds(rec.created),
  };
  const map: Record<string, string[]> = {};
  for (const v of Object.values(rec.versions)) if (v.stages.length > 0) map[v.id] = [...v.stages];
  if (Object.keys(map).length > 0) out[withVersions ? 'VersionIdsToStages' : 'SecretVersionsToStages'] = map;
  return out;
}
