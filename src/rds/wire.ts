// Amazon RDS wire types (Query protocol, API version 2014-10-31) with RDS's PascalCase names, and
// the conversion from src/db's camelCase records. Member names and shapes follow
// botocore/data/rds/2014-10-31/service-2.json (DBInstance, Endpoint, MasterUserSecret,
// PendingModifiedValues, DBEngineVersion, Tag). Responses are plain objects; src/http/rds-query.ts
// turns them into XML (lists become <DBInstances><DBInstance>..., booleans "true"/"false",
// timestamps ISO 8601).
import type { DbEngineVersion, DbInstance, Tag } from '../db/api.ts';

export const RDS_API_VERSION = '2014-10-31';

export interface WireTag {
  Key: string;
  Value: string;
}

export interface WireEndpoint {
  Address: string;
  Port: number;
  HostedZoneId?: string;
}

export interface WireMasterUserSecret {
  SecretArn: string;
  SecretStatus: string;
  KmsKeyId: string;
}

export interface WirePendingModifiedValues {
  /** RDS answers "****" while a new master password waits to be applied (SensitiveString). */
  MasterUserPassword?: string;
}

/** botocore DBInstanceStatusInfo (listed as <StatusInfos><DBInstanceStatusInfo>): a read replica's replication. */
export interface WireDBInstanceStatusInfo {
  /** "read replication" */
  StatusType: string;
  Normal: boolean;
  /** replicating | error | stopped | terminated (RDS) */
  Status: string;
  Message?: string;
}

export interface WireDBInstance {
  DBInstanceIdentifier: string;
  DBInstanceClass: string;
  Engine: string;
  DBInstanceStatus: string;
  MasterUsername: string;
  DBName?: string;
  Endpoint?: WireEndpoint;
  AllocatedStorage: number;
  InstanceCreateTime: Date;
  PendingModifiedValues: WirePendingModifiedValues;
  MultiAZ: boolean;
  EngineVersion: string;
  AutoMinorVersionUpgrade: boolean;
  PubliclyAccessible: boolean;
  StorageType: string;
  DbInstancePort: number;
  StorageEncrypted: boolean;
  KmsKeyId?: string;
  DbiResourceId: string;
  DBInstanceArn: string;
  IAMDatabaseAuthenticationEnabled: boolean;
  DeletionProtection: boolean;
  TagList: WireTag[];
  MasterUserSecret?: WireMasterUserSecret;
  BackupRetentionPeriod: number;
  CopyTagsToSnapshot: boolean;
  ReadReplicaSourceDBInstanceIdentifier?: string;
  /** Listed as <ReadReplicaDBInstanceIdentifiers><ReadReplicaDBInstanceIdentifier> (the model's locationName). */
  ReadReplicaDBInstanceIdentifiers?: string[];
  StatusInfos?: WireDBInstanceStatusInfo[];
}

export interface WireDBEngineVersion {
  Engine: string;
  MajorEngineVersion: string;
  EngineVersion: string;
  DBParameterGroupFamily: string;
  DBEngineDescription: string;
  DBEngineVersionDescription: string;
  Status: string;
  SupportsReadReplica: boolean;
  SupportsLogExportsToCloudwatchLogs: boolean;
}

const ENGINE_DESCRIPTION: Record<string, string> = { postgres: 'PostgreSQL', mariadb: 'MariaDB Community Edition' };

export function toWireTags(tags: readonly Tag[]): WireTag[] {
  return tags.map((t) => ({ Key: t.key, Value: t.value }));
}

export function fromWireTags(tags: readonly WireTag[]): Tag[] {
  return tags.map((t) => ({ key: t.Key, value: t.Value }));
}

/** A DbInstance as DescribeDBInstances (and every instance-returning operation) shows it. */
export function toWireInstance(i: DbInstance): WireDBInstance {
  const w: WireDBInstance = {
    DBInstanceIdentifier: i.id,
    DBInstanceClass: i.instanceClass,
    Engine: i.engine,
    DBInstanceStatus: i.status,
    MasterUsername: i.masterUsername,
    AllocatedStorage: i.allocatedStorageGiB,
    InstanceCreateTime: i.createdAt,
    PendingModifiedValues: i.pendingModifiedValues.masterUserPassword ? { MasterUserPassword: '****' } : {},
    MultiAZ: false,
    EngineVersion: i.engineVersion,
    AutoMinorVersionUpgrade: false,
    PubliclyAccessible: false,
    StorageType: 'gp2',
    DbInstancePort: 0,
    StorageEncrypted: i.storageEncrypted,
    DbiResourceId: i.resourceId,
    DBInstanceArn: i.arn,
    IAMDatabaseAuthenticationEnabled: false,
    DeletionProtection: i.deletionProtection,
    TagList: toWireTags(i.tags),
    BackupRetentionPeriod: 0,
    CopyTagsToSnapshot: false,
  };
  if (i.dbName !== undefined) w.DBName = i.dbName;
  if (i.endpoint) w.Endpoint = { Address: i.endpoint.address, Port: i.endpoint.port };
  if (i.kmsKeyId !== undefined) w.KmsKeyId = i.kmsKeyId;
  if (i.readReplicaSourceId !== undefined) w.ReadReplicaSourceDBInstanceIdentifier = i.readReplicaSourceId;
  if (i.readReplicaIds && i.readReplicaIds.length > 0) w.ReadReplicaDBInstanceIdentifiers = [...i.readReplicaIds];
  if (i.replication) {
    w.StatusInfos = [{ StatusType: 'read replication', Normal: i.replication.normal, Status: i.replication.status, ...(i.replication.message !== undefined ? { Message: i.replication.message } : {}) }];
  }
  if (i.keyRotation) {
    // rekey's own StatusType (RDS uses only "read replication"): InnoDB's progress onto the newest key version
    const k = i.keyRotation;
    w.StatusInfos = [...(w.StatusInfos ?? []), {
      StatusType: 'key rotation', Normal: true, Status: k.remaining === 0 ? 'complete' : 'rotating',
      Message: `${k.remaining} of ${k.tablespaces} InnoDB tablespaces below key version ${k.latestKeyVersion}`,
    }, {
      // and rekey's own "key versions": what is served, what was retired, what holds the older versions
      StatusType: 'key versions', Normal: true, Status: k.versions.some((v) => v.served.length > 1) ? 'kept' : 'newest only',
      Message: keyVersionsLine(k.versions),
    }];
  }
  if (i.masterUserSecret) {
    w.MasterUserSecret = { SecretArn: i.masterUserSecret.secretArn, SecretStatus: i.masterUserSecret.secretStatus, KmsKeyId: i.masterUserSecret.kmsKeyId };
  }
  return w;
}

/** `key 1: served 3, retired 1; key 2: served 1,3 (kept: <why>)` (DescribeDBInstances and `rekey db show`). */
export function keyVersionsLine(versions: readonly { keyId: number; served: number[]; retired: number[]; keptBecause: string[] }[]): string {
  return versions.map((v) => `key ${v.keyId}: served ${v.served.join(',')}${v.retired.length > 0 ? `, retired ${v.retired.join(',')}` : ''}${v.keptBecause.length > 0 ? ` (kept: ${v.keptBecause.join('; ')})` : ''}`).join('; ');
}

export function toWireEngineVersion(v: DbEngineVersion): WireDBEngineVersion {
  return {
    Engine: v.engine,
    MajorEngineVersion: v.engineVersion.split('.')[0] ?? v.engineVersion,
    EngineVersion: v.engineVersion,
    DBParameterGroupFamily: v.dbParameterGroupFamily,
    DBEngineDescription: ENGINE_DESCRIPTION[v.engine] ?? v.engine,
    DBEngineVersionDescription: v.description,
    Status: 'available',
    SupportsReadReplica: v.engine === 'postgres', // rekey: no read replicas of mariadb instances
    SupportsLogExportsToCloudwatchLogs: false,
  };
}

/** An instance's ARN: arn:<partition>:rds:<region>:<account>:db:<identifier>. */
export function instanceArn(partition: string, region: string, accountId: string, id: string): string {
  return `arn:${partition}:rds:${region}:${accountId}:db:${id}`;
}

/** The identifier in an instance ARN, or undefined when `arn` is not one. */
export function idFromInstanceArn(arn: string): string | undefined {
  const m = /^arn:[a-z-]+:rds:[a-z0-9-]+:\d{12}:db:([A-Za-z0-9-]{1,63})$/.exec(arn);
  return m ? m[1]!.toLowerCase() : undefined;
}

/** Operation outputs by name: what src/http/rds-query.ts serializes inside <ActionResult>. */
export type RdsResult = Record<string, unknown>;
