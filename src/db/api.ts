// The database-instance component's interface: what the RDS Query adapter (src/rds, src/http) calls
// and what src/db implements. camelCase inside rekey; the RDS wire names (PascalCase, XML) are made
// at the boundary in src/rds/wire.ts. The caller is already authenticated and authorized for the
// rds:* action (src/rds); DbService checks what depends on state: the KMS key's usability by the
// caller (as RDS does through kms:CreateGrant / kms:DescribeKey via rds), name conflicts, statuses.
import type { Identity } from '../iam/identity.ts';

/** RDS's instance statuses (DescribeDBInstances DBInstanceStatus), the subset rekey uses. */
export const DB_INSTANCE_STATUS = {
  creating: 'creating',
  available: 'available',
  stopping: 'stopping',
  stopped: 'stopped',
  starting: 'starting',
  rebooting: 'rebooting',
  modifying: 'modifying',
  deleting: 'deleting',
  failed: 'failed',
  inaccessibleEncryptionCredentials: 'inaccessible-encryption-credentials',
  /** RDS: the key is disabled/pending deletion but the instance still runs (not yet restarted). */
  inaccessibleEncryptionCredentialsRecoverable: 'inaccessible-encryption-credentials-recoverable',
} as const;
export type DbInstanceStatus = (typeof DB_INSTANCE_STATUS)[keyof typeof DB_INSTANCE_STATUS];

export type DbEngine = 'postgres' | 'mariadb';

export interface Tag {
  key: string;
  value: string;
}

/** Facts about the request, for authorization of KMS use and for the audit gate. */
export interface DbCallContext {
  caller: Identity;
  requestId: string;
  sourceIp: string;
  secureTransport: boolean;
  userAgent: string;
  /**
   * Mutating calls invoke this once, after their outcome is decided and before their first write
   * (the pipeline's audit gate): it records the call's audit event and rejects when it cannot, so
   * nothing is written.
   */
  beforeCommit?: (partialOutput?: unknown) => Promise<void>;
}

export interface CreateDbInstanceInput {
  /** DBInstanceIdentifier, validated by the adapter and stored lower-case (as RDS does). */
  id: string;
  engine: DbEngine;
  /** Absent: the newest installed version of the engine. */
  engineVersion?: string;
  instanceClass: string;
  allocatedStorageGiB: number;
  masterUsername: string;
  /** Secret: never logged, audited or stored unencrypted. Exclusive with manageMasterUserPassword. */
  masterUserPassword?: string;
  manageMasterUserPassword: boolean;
  /** KMS key for the master secret (default aws/secretsmanager). */
  masterUserSecretKmsKeyId?: string;
  storageEncrypted: boolean;
  /** Key id, ARN, alias name or alias ARN. Absent with storageEncrypted: alias/aws/rds. */
  kmsKeyId?: string;
  dbName?: string;
  /** Absent: rekey picks a free port. */
  port?: number;
  deletionProtection: boolean;
  tags: Tag[];
}

export interface ModifyDbInstanceInput {
  id: string;
  masterUserPassword?: string;
  manageMasterUserPassword?: boolean;
  masterUserSecretKmsKeyId?: string;
  /** RotateMasterUserPassword=true (needs ApplyImmediately and a managed secret). */
  rotateMasterUserPassword?: boolean;
  deletionProtection?: boolean;
  applyImmediately: boolean;
}

export interface DeleteDbInstanceInput {
  id: string;
  skipFinalSnapshot: boolean;
  finalDbSnapshotIdentifier?: string;
  deleteAutomatedBackups: boolean;
}

export interface MasterUserSecret {
  secretArn: string;
  /** RDS: creating | active | rotating | impaired */
  secretStatus: string;
  kmsKeyId: string;
}

export interface DbInstance {
  id: string;
  /** DbiResourceId: "db-" + 26 upper-case base32 characters, fixed for the instance's life. */
  resourceId: string;
  arn: string;
  engine: DbEngine;
  engineVersion: string;
  instanceClass: string;
  allocatedStorageGiB: number;
  status: DbInstanceStatus;
  masterUsername: string;
  dbName?: string;
  /** The stable endpoint applications connect to (rekey's proxy for the instance). Absent while creating. */
  endpoint?: { address: string; port: number };
  storageEncrypted: boolean;
  /** The key's ARN (RDS reports the ARN whatever form was given). */
  kmsKeyId?: string;
  masterUserSecret?: MasterUserSecret;
  deletionProtection: boolean;
  createdAt: Date;
  tags: Tag[];
  /** Changes waiting for the next maintenance window or reboot (RDS PendingModifiedValues). */
  pendingModifiedValues: { masterUserPassword?: boolean };
  // ---- read replicas (src/db/read-replicas.ts)
  /** A read replica: its source's identifier (RDS ReadReplicaSourceDBInstanceIdentifier). */
  readReplicaSourceId?: string;
  /** A source: its read replicas' identifiers (RDS ReadReplicaDBInstanceIdentifiers). */
  readReplicaIds?: string[];
  /** A read replica's replication (RDS StatusInfos, StatusType "read replication"), when it runs on this node. */
  replication?: { status: 'replicating' | 'error'; normal: boolean; message?: string };
  /** Seconds the replica's replay is behind its source (RDS's CloudWatch metric ReplicaLag); absent when unknown. */
  replicaLagSeconds?: number;
  /**
   * An encrypted mariadb instance that runs: InnoDB tablespaces still below the newest key version
   * (DescribeDBInstances StatusInfos, StatusType "key rotation"; src/db/mariadb-keys.ts), and its key
   * versions kept and retired (StatusType "key versions"; src/db/mariadb-retire.ts).
   */
  keyRotation?: {
    latestKeyVersion: number; tablespaces: number; remaining: number;
    /** Per key id: versions served, versions retired, and what holds the older ones still served. */
    versions: { keyId: number; served: number[]; retired: number[]; keptBecause: string[] }[];
  };
}

export interface CreateReadReplicaInput {
  /** The replica's DBInstanceIdentifier (stored lower-case). */
  id: string;
  /** The source's identifier. */
  sourceId: string;
  /** Absent: the source's class. */
  instanceClass?: string;
  /** Absent: the source's key (or unencrypted, when the source is). Given: the replica's own volume key is wrapped under it. */
  kmsKeyId?: string;
  port?: number;
  deletionProtection: boolean;
  tags: Tag[];
}

export interface DbEngineVersion {
  engine: DbEngine;
  engineVersion: string;
  /** e.g. "postgres15" */
  dbParameterGroupFamily: string;
  description: string;
  /** Where the binaries are (not on the wire). */
  binDir: string;
}

export interface DbService {
  create(input: CreateDbInstanceInput, ctx: DbCallContext): Promise<DbInstance>;
  /** One instance; DBInstanceNotFoundFault when absent. */
  get(id: string): Promise<DbInstance>;
  /** Instances in identifier order, after the marker `after` (exclusive), at most `limit`. */
  list(opts: { after?: string; limit: number }): Promise<{ instances: DbInstance[]; next?: string }>;
  modify(input: ModifyDbInstanceInput, ctx: DbCallContext): Promise<DbInstance>;
  stop(id: string, ctx: DbCallContext): Promise<DbInstance>;
  start(id: string, ctx: DbCallContext): Promise<DbInstance>;
  reboot(id: string, ctx: DbCallContext): Promise<DbInstance>;
  delete(input: DeleteDbInstanceInput, ctx: DbCallContext): Promise<DbInstance>;
  engineVersions(filter?: { engine?: string; engineVersion?: string }): Promise<DbEngineVersion[]>;
  /** Tags by resource ARN (instances today; snapshots later). DBInstanceNotFoundFault for an unknown ARN. */
  addTags(arn: string, tags: Tag[], ctx: DbCallContext): Promise<void>;
  listTags(arn: string): Promise<Tag[]>;
  removeTags(arn: string, keys: string[], ctx: DbCallContext): Promise<void>;
  // ---- snapshots (issue 14; src/db/snapshots)
  createSnapshot(input: CreateDbSnapshotInput, ctx: DbCallContext): Promise<DbSnapshot>;
  /** One snapshot (DBSnapshotNotFound when absent) or a page in identifier order after `after`. */
  describeSnapshots(opts: { id?: string; instanceId?: string; after?: string; limit: number }): Promise<{ snapshots: DbSnapshot[]; next?: string }>;
  deleteSnapshot(id: string, ctx: DbCallContext): Promise<DbSnapshot>;
  copySnapshot(input: CopyDbSnapshotInput, ctx: DbCallContext): Promise<DbSnapshot>;
  restoreFromSnapshot(input: RestoreDbInstanceInput, ctx: DbCallContext): Promise<DbInstance>;
  // ---- read replicas (issue 14; src/db/read-replicas.ts)
  createReadReplica(input: CreateReadReplicaInput, ctx: DbCallContext): Promise<DbInstance>;
  /** The replica becomes a standalone writable instance (status modifying, then available). */
  promoteReadReplica(id: string, ctx: DbCallContext): Promise<DbInstance>;
}

// ---- snapshots (issue 14)

/** RDS's snapshot statuses (DescribeDBSnapshots Status), the subset rekey uses. */
export type DbSnapshotStatus = 'creating' | 'available' | 'copying' | 'deleting' | 'failed';

export interface DbSnapshot {
  /** DBSnapshotIdentifier, stored lower-case. */
  id: string;
  arn: string;
  /** The source instance's identifier and DbiResourceId (kept after the instance is deleted). */
  instanceId: string;
  resourceId: string;
  snapshotType: 'manual';
  status: DbSnapshotStatus;
  engine: DbEngine;
  engineVersion: string;
  allocatedStorageGiB: number;
  masterUsername: string;
  dbName?: string;
  port: number;
  instanceCreatedAt: Date;
  /** SnapshotCreateTime: when the backup started (the data is as of a moment during the backup). */
  createdAt: Date;
  encrypted: boolean;
  /** The snapshot key's ARN. */
  kmsKeyId?: string;
  /** 0-100 while creating or copying. */
  percentProgress: number;
  /** Copies: the source snapshot's ARN. */
  sourceSnapshotArn?: string;
  tags: Tag[];
  /** Size of the stored snapshot file (bytes), when made. */
  bytes?: number;
}

export interface CreateDbSnapshotInput {
  id: string;
  instanceId: string;
  tags: Tag[];
}

export interface CopyDbSnapshotInput {
  /** Identifier or ARN of the source snapshot. */
  sourceId: string;
  targetId: string;
  /** Absent: the source's key (an unencrypted source stays unencrypted). Given: the copy is (re-)encrypted under it. */
  kmsKeyId?: string;
  copyTags: boolean;
  tags: Tag[];
}

export interface RestoreDbInstanceInput {
  /** The new instance. */
  id: string;
  snapshotId: string;
  instanceClass?: string;
  port?: number;
  deletionProtection: boolean;
  tags: Tag[];
}
