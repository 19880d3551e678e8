// The stored instance record (behind the barrier) and its API view.
//
//   db/instances/<id>          InstanceRecord
//   db/pending-password/<id>   { password }: the master password from CreateDBInstance until the
//                              create job has run initdb (deleted in the same commit as its result)
import type { DbEngine, DbInstance, DbInstanceStatus, Tag } from './api.ts';
import type { InstanceKeys } from './mariadb-keys.ts';

export const INSTANCES_PREFIX = 'db/instances/';
export const instancePath = (id: string): string => INSTANCES_PREFIX + id;
export const pendingPasswordPath = (id: string): string => `db/pending-password/${id}`;

/** What the instance should be doing; jobs and the supervisor converge on it. */
export type Desired = 'available' | 'stopped' | 'deleted';

export interface InstanceRecord {
  v: 1;
  id: string;
  resourceId: string;
  arn: string;
  engine: DbEngine;
  engineVersion: string;
  binDir: string;
  instanceClass: string;
  allocatedStorageGiB: number;
  masterUsername: string;
  dbName?: string;
  endpointAddress: string;
  endpointPort: number;
  status: DbInstanceStatus;
  desired: Desired;
  /** The change in progress (its job's dedupe key is db/<resourceId>/<id>); cleared when it finishes. */
  op?: { kind: string; id: string };
  storageEncrypted: boolean;
  /** Key ARN (with storageEncrypted). */
  kmsKeyArn?: string;
  kmsKeyId?: string;
  /** The volume key wrapped under the instance's KMS key (base64), context volumeContext(). */
  wrappedVolumeKey?: string;
  /** The service's grant on the key. */
  grantId?: string;
  masterUserSecret?: { arn: string; kmsKeyId: string };
  /** rekey's own superuser inside the instance (rekey_admin), for ModifyDBInstance MasterUserPassword. */
  adminPassword: string;
  deletionProtection: boolean;
  createdAt: number;
  tags: Tag[];
  /** Why the last start failed (job error name), for operators. */
  lastError?: string;
  /** Which volume the instance runs on: absent/0 = <dir>/<DbiResourceId>, n = <dir>/<DbiResourceId>.g<n> (change-key makes a new one). */
  volumeGen?: number;
  /** A change of the storage key in progress (src/db/change-key.ts). */
  changeKey?: ChangeKeyState;
  /** An encrypted mariadb instance's keyring and keyserve token (src/db/mariadb-keys.ts). */
  mariadbKeys?: InstanceKeys;
  /** A read replica (src/db/read-replicas.ts): its source and the replication login; cleared by promotion. */
  replicaOf?: ReplicaOfState;
}

/** A read replica's link to its source: the role/slot on the source are named after the replica's DbiResourceId. */
export interface ReplicaOfState {
  sourceId: string;
  sourceResourceId: string;
  /** The replication role's password (kept behind the barrier; on disk only in the replica's own, encrypted, passfile). */
  replPassword: string;
}

/** db.change-key's durable state: the new volume (generation, key, grant) until cutover, then the old one until it is shredded. */
export interface ChangeKeyState {
  /** requested -> copying (grant and volume key made) -> promoting (the point of no return) -> cleanup */
  phase: 'requested' | 'copying' | 'promoting' | 'cleanup';
  newKeyArn: string;
  newKeyId: string;
  newGrantId?: string;
  newWrappedVolumeKey?: string;
  newGen: number;
  /** The replication role's password (the standby logs in with it; dropped at cleanup). */
  replPassword: string;
  /** After cutover: what is shredded at cleanup. */
  old?: { keyArn: string; keyId: string; grantId?: string; gen: number };
  /** The client-visible stall of the cutover (pause -> resume), ms. */
  stallMs?: number;
}

export const ADMIN_ROLE = 'rekey_admin';

/** RDS's encryption context for an instance's storage keys. */
export const volumeContext = (rec: Pick<InstanceRecord, 'resourceId'>): Record<string, string> => ({ 'aws:rds:db-id': rec.resourceId });

export function toApi(rec: InstanceRecord): DbInstance {
  return {
    id: rec.id, resourceId: rec.resourceId, arn: rec.arn, engine: rec.engine, engineVersion: rec.engineVersion,
    instanceClass: rec.instanceClass, allocatedStorageGiB: rec.allocatedStorageGiB, status: rec.status,
    masterUsername: rec.masterUsername,
    ...(rec.dbName !== undefined ? { dbName: rec.dbName } : {}),
    ...(rec.status !== 'creating' ? { endpoint: { address: rec.endpointAddress, port: rec.endpointPort } } : {}),
    storageEncrypted: rec.storageEncrypted,
    ...(rec.kmsKeyArn ? { kmsKeyId: rec.kmsKeyArn } : {}),
    ...(rec.masterUserSecret ? { masterUserSecret: { secretArn: rec.masterUserSecret.arn, secretStatus: 'active', kmsKeyId: rec.masterUserSecret.kmsKeyId } } : {}),
    deletionProtection: rec.deletionProtection,
    createdAt: new Date(rec.createdAt),
    tags: rec.tags.map((t) => ({ ...t })),
    pendingModifiedValues: {},
    ...(rec.replicaOf ? { readReplicaSourceId: rec.replicaOf.sourceId } : {}),
  };
}

/** RDS instance classes -> memory (MiB), for shared_buffers = 25% of memory as RDS's default parameter group does. */
const CLASS_MEMORY_MIB: Record<string, number> = {
  micro: 1024, small: 2048, medium: 4096, large: 8192, xlarge: 16384, '2xlarge': 32768, '4xlarge': 65536,
};

export function sharedBuffersMiB(instanceClass: string, capMiB: number): number {
  const size = instanceClass.split('.').pop() ?? 'micro';
  return Math.max(16, Math.min(capMiB, Math.floor((CLASS_MEMORY_MIB[size] ?? 1024) / 4)));
}
