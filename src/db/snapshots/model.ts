// The stored snapshot record (behind the barrier), its file, and its API view.
//
//   db/snapshots/<id>               SnapshotRecord
//   db/restore-source/<instance id> { snapshotId, snapshotResourceId }: what a restoring instance is made from
//                                   (written with the instance record; deleted when the restore finishes)
//   db/final-snapshot/<instance id> { snapshotId }: DeleteDBInstance's FinalDBSnapshotIdentifier, taken
//                                   before the instance is removed
//
// Files, under <db.dir>/snapshots/: <snapshot resource id>.rkst (a src/crypto/stream-aead.ts stream of
// the backup's tar; sealed under the snapshot's data key, or plain for unencrypted snapshots) and,
// while it is being written, <snapshot resource id>.partial. Only a completely written file is
// renamed to .rkst, and only after that does the record say `available`.
import { join } from 'node:path';
import type { DbEngine, DbSnapshot, DbSnapshotStatus, Tag } from '../api.ts';

export const SNAPSHOTS_PREFIX = 'db/snapshots/';
export const snapshotPath = (id: string): string => SNAPSHOTS_PREFIX + id;
export const restoreSourcePath = (instanceId: string): string => `db/restore-source/${instanceId}`;
export const finalSnapshotPath = (instanceId: string): string => `db/final-snapshot/${instanceId}`;

/** RDS's default quota of manual DB snapshots per region. */
export const MAX_SNAPSHOTS = 100;

export type SnapshotOpKind = 'db.snapshot.create' | 'db.snapshot.copy' | 'db.snapshot.delete';

export interface SnapshotRecord {
  v: 1;
  id: string;
  arn: string;
  /** Names the file and binds the data key (encryption context {"aws:rds:snapshot-id": ...}). */
  snapshotResourceId: string;
  status: DbSnapshotStatus;
  op?: { kind: SnapshotOpKind; id: string };
  /** Source instance facts, kept for restores after the instance is gone. */
  instanceId: string;
  resourceId: string;
  engine: DbEngine;
  engineVersion: string;
  binDir: string;
  instanceClass: string;
  allocatedStorageGiB: number;
  masterUsername: string;
  dbName?: string;
  port: number;
  /** rekey_admin's password inside the backed-up cluster (the restored instance keeps it). */
  adminPassword: string;
  instanceCreatedAt: number;
  createdAt: number;
  encrypted: boolean;
  kmsKeyArn?: string;
  kmsKeyId?: string;
  /** The snapshot's data key wrapped under kmsKeyArn (base64). */
  wrappedKey?: string;
  /** The service's grant on the key for this snapshot's data key. */
  grantId?: string;
  /** Copies: the source snapshot (its id is read while copying). */
  sourceSnapshotArn?: string;
  sourceId?: string;
  percentProgress: number;
  bytes?: number;
  tags: Tag[];
  lastError?: string;
}

/** RDS's encryption context for a snapshot's data key. */
export const snapshotContext = (rec: Pick<SnapshotRecord, 'snapshotResourceId'>): Record<string, string> => ({ 'aws:rds:snapshot-id': rec.snapshotResourceId });

export function snapshotFiles(dbDir: string, rec: Pick<SnapshotRecord, 'snapshotResourceId'>): { dir: string; file: string; partial: string } {
  const dir = join(dbDir, 'snapshots');
  return { dir, file: join(dir, `${rec.snapshotResourceId}.rkst`), partial: join(dir, `${rec.snapshotResourceId}.partial`) };
}

export function snapshotToApi(rec: SnapshotRecord): DbSnapshot {
  return {
    id: rec.id, arn: rec.arn, instanceId: rec.instanceId, resourceId: rec.resourceId, snapshotType: 'manual', status: rec.status,
    engine: rec.engine, engineVersion: rec.engineVersion, allocatedStorageGiB: rec.allocatedStorageGiB, masterUsername: rec.masterUsername,
    ...(rec.dbName !== undefined ? { dbName: rec.dbName } : {}),
    port: rec.port, instanceCreatedAt: new Date(rec.instanceCreatedAt), createdAt: new Date(rec.createdAt), encrypted: rec.encrypted,
    ...(rec.kmsKeyArn ? { kmsKeyId: rec.kmsKeyArn } : {}),
    percentProgress: rec.percentProgress,
    ...(rec.sourceSnapshotArn ? { sourceSnapshotArn: rec.sourceSnapshotArn } : {}),
    tags: rec.tags.map((t) => ({ ...t })),
    ...(rec.bytes !== undefined ? { bytes: rec.bytes } : {}),
  };
}
