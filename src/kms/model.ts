// The internal key record (camelCase), as stored through the barrier at kms/keys/<keyId>, and its
// conversion to AWS's KeyMetadata at the boundary. Dates are epoch milliseconds inside rekey and
// epoch seconds on the wire (the AWS JSON protocol sends timestamps as numbers of seconds).
import type { KeyMetadata } from './wire.ts';

export const KeyState = { Enabled: 'Enabled', Disabled: 'Disabled', PendingDeletion: 'PendingDeletion' } as const;
export type KeyStateName = (typeof KeyState)[keyof typeof KeyState];

export const RotationType = { AUTOMATIC: 'AUTOMATIC', ON_DEMAND: 'ON_DEMAND' } as const;
export type RotationTypeName = (typeof RotationType)[keyof typeof RotationType];

/** One version of a key's 256-bit material. `material` is base64 and exists only inside the barrier-encrypted record. */
export interface KeyMaterialRecord {
  /** 64 lowercase hex characters, the AWS KeyMaterialId format. */
  id: string;
  material: string;
  createdAt: number;
  /** null for the material the key was created with. */
  rotationType: RotationTypeName | null;
}

export interface KeyRotationRecord {
  enabled: boolean;
  /** Set while automatic rotation is enabled. */
  periodDays: number | null;
  /** When the rotation engine should next rotate (epoch ms); null while automatic rotation is off. */
  nextRotationDate: number | null;
  /** On-demand rotations performed so far (compared with the configured per-key limit). */
  onDemandCount: number;
  /** Set by the rotation engine while an on-demand rotation is in progress; null otherwise. */
  onDemandStartDate: number | null;
}

export interface Tag {
  key: string;
  value: string;
}

export interface KeyRecord {
  v: 1;
  keyId: string;
  arn: string;
  accountId: string;
  region: string;
  description: string;
  state: KeyStateName;
  keyUsage: 'ENCRYPT_DECRYPT';
  keySpec: 'SYMMETRIC_DEFAULT';
  origin: 'AWS_KMS';
  multiRegion: false;
  creationDate: number;
  deletionDate: number | null;
  pendingWindowInDays: number | null;
  /** The key policy document exactly as given (or the default policy). */
  policy: string;
  tags: Tag[];
  /** Alias names pointing at this key; kms/aliases/<name> is the index in the other direction. */
  aliases: string[];
  rotation: KeyRotationRecord;
  /**
   * How many grants the key has (kms/grants/<keyId> holds them). Written in the same transaction as
   * every grant change, so a grant change always makes a new version of this record: caches that
   * compare versions (every node's key cache) see it within their TTL. Absent = 0.
   */
  grantCount?: number;
  materials: KeyMaterialRecord[];
  currentMaterialId: string;
  /** 'AWS' for the service-managed keys behind alias/aws/<service> (src/kms/lifecycle/service-keys.ts). Absent = CUSTOMER. */
  keyManager?: 'AWS';
  /** Rotate when one material version has protected this much (src/kms/lifecycle/usage.ts). Absent = no budget. */
  usageBudget?: UsageBudget;
  /** How many resources are registered as using this key (kms/dependents/<keyId>/ holds them). Absent = 0. */
  dependentCount?: number;
}

export interface UsageBudget {
  maxEncryptions?: number;
  maxBytes?: number;
}

export interface AliasRecord {
  v: 1;
  aliasName: string;
  targetKeyId: string;
  creationDate: number;
  lastUpdatedDate: number;
}

/** Epoch milliseconds -> the number of seconds the AWS JSON protocol uses for timestamps. */
export function wireDate(ms: number): number {
  return ms / 1000;
}

export function keyMetadata(rec: KeyRecord): KeyMetadata {
  const m: KeyMetadata = {
    AWSAccountId: rec.accountId,
    KeyId: rec.keyId,
    Arn: rec.arn,
    CreationDate: wireDate(rec.creationDate),
    Enabled: rec.state === KeyState.Enabled,
    Description: rec.description,
    KeyUsage: rec.keyUsage,
    KeyState: rec.state,
    Origin: rec.origin,
    KeyManager: rec.keyManager ?? 'CUSTOMER',
    CustomerMasterKeySpec: rec.keySpec,
    KeySpec: rec.keySpec,
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: rec.multiRegion,
    CurrentKeyMaterialId: rec.currentMaterialId,
  };
  // AWS KMS: DeletionDate and PendingDeletionWindowInDays are present only while the key state is PendingDeletion.
  if (rec.state === KeyState.PendingDeletion && rec.deletionDate !== null) {
    m.DeletionDate = wireDate(rec.deletionDate);
    if (rec.pendingWindowInDays !== null) m.PendingDeletionWindowInDays = rec.pendingWindowInDays;
  }
  return m;
}

/** Deep copy through JSON: records are plain JSON data. */
export function cloneRecord<T>(rec: T): T {
  return JSON.parse(JSON.stringify(rec)) as T;
}
