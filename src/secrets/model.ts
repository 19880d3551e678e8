// The secret record and its storage layout (every value passes the barrier; secret values are in
// addition encrypted under the secret's KMS key, with AWS's encryption context).
//
//   secrets/s/<name>                SecretRecord: metadata, tags, policy, rotation, version labels
//   secrets/val/<uid>/<versionId>   StoredValue: { blob } = KMS ciphertext of the value
//   secrets/rot/<ISO time>/<name>   rotation due index (scheduled rotations, src/secrets/rotation/schedule.ts)
//   secrets/del/<ISO time>/<name>   deletion due index (recovery windows)
//   secrets/webhooks/<name>         WebhookRecord (src/secrets/rotation/webhooks.ts)
// A record and its value entries and index entries are written in one transaction under the
// record's compare-and-swap. `uid` is random per secret, so a secret deleted and created again
// under the same name never sees the old values.

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPREVIOUS = 'AWSPREVIOUS';
export const AWSPENDING = 'AWSPENDING';

/** AWS keeps about 100 versions; older versions without labels are removed (deprecated). */
export const MAX_VERSIONS = 100;
/** AWS: "Each version can have up to 20 staging labels attached." */
export const MAX_LABELS_PER_VERSION = 20;

export interface VersionMeta {
  id: string;
  stages: string[];
  created: number;
  kind: 'string' | 'binary';
  lastAccessed?: number;
  /** ARN of the KMS key the value is encrypted under (KmsKeyIds of ListSecretVersionIds). */
  keyArn: string;
}

export interface RotationRules {
  AutomaticallyAfterDays?: number;
  ScheduleExpression?: string;
  Duration?: string;
}

export interface RotationState {
  enabled: boolean;
  lambdaArn?: string;
  rules?: RotationRules;
  lastRotated?: number;
  /** Next scheduled start (epoch ms), also in the rotation due index. */
  next?: number;
  /** The rotation job in flight and its AWSPENDING version id. */
  jobId?: string;
  pendingVersion?: string;
}

export interface Tag {
  Key: string;
  Value: string;
}

export interface SecretRecord {
  v: 1;
  uid: string;
  name: string;
  arn: string;
  description?: string;
  /** KmsKeyId as the caller gave it (absent: alias/aws/secretsmanager). */
  kmsKeyId?: string;
  /** ARN of the key new versions are encrypted under (the dependent registration). */
  keyArn: string;
  tags: Tag[];
  /** Tags were ever set: DescribeSecret then shows `Tags` even when empty, as AWS does. */
  tagged?: true;
  created: number;
  lastChanged: number;
  lastAccessed?: number;
  /** DeleteSecret with a recovery window: when it was deleted and when it will be removed. */
  deleted?: number;
  deletionDate?: number;
  rotation?: RotationState;
  policy?: string;
  versions: Record<string, VersionMeta>;
  /** An invalidatesCurrent rotation is between setSecret and finishSecret (docs/SECRETS.md). */
  switching?: boolean;
}

export interface StoredValue {
  /** base64 KMS ciphertext of the value (SecretString UTF-8 bytes or SecretBinary bytes). */
  blob: string;
  /**
   * After a KMS key change, the same value under the previous key(s): AWS "keeps all existing
   * versions encrypted with the previous key", so a version decrypts with either key.
   */
  previous?: string[];
}

export const SECRET_PREFIX = 'secrets/s/';
export const VALUE_PREFIX = 'secrets/val/';
export const ROTATION_DUE_PREFIX = 'secrets/rot/';
export const DELETION_DUE_PREFIX = 'secrets/del/';

export const secretPath = (name: string): string => SECRET_PREFIX + name;
export const valuePath = (uid: string, versionId: string): string => `${VALUE_PREFIX}${uid}/${versionId}`;

/** AWS's encryption context for a secret value. */
export function valueContext(arn: string, versionId: string): Record<string, string> {
  return { SecretARN: arn, SecretVersionId: versionId };
}

/** Versions, newest first. */
export function versionsNewestFirst(rec: SecretRecord): VersionMeta[] {
  return Object.values(rec.versions).sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
}

export function versionWithStage(rec: SecretRecord, stage: string): VersionMeta | undefined {
  return Object.values(rec.versions).find((v) => v.stages.includes(stage));
}
