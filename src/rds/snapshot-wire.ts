// The DBSnapshot wire shape (botocore/data/rds/2014-10-31/service-2.json `DBSnapshot`; LocalStack's
// generated api/rds types list the same members) and the snapshot identifier rules. Kept beside
// wire.ts so the snapshot operations (issue 14) touch no shared file but the operation table.
import { InvalidParameterValue } from '../errors.ts';
import type { DbSnapshot } from '../db/api.ts';
import { toWireTags, type WireTag } from './wire.ts';
import { clip } from './validate.ts';

export interface WireDBSnapshot {
  DBSnapshotIdentifier: string;
  DBInstanceIdentifier: string;
  SnapshotCreateTime?: Date;
  Engine: string;
  AllocatedStorage: number;
  Status: string;
  Port: number;
  InstanceCreateTime: Date;
  MasterUsername: string;
  EngineVersion: string;
  LicenseModel: string;
  SnapshotType: string;
  PercentProgress: number;
  SourceRegion?: string;
  SourceDBSnapshotIdentifier?: string;
  StorageType: string;
  Encrypted: boolean;
  KmsKeyId?: string;
  DBSnapshotArn: string;
  IAMDatabaseAuthenticationEnabled: boolean;
  DbiResourceId: string;
  TagList: WireTag[];
  OriginalSnapshotCreateTime: Date;
  SnapshotTarget: string;
  DedicatedLogVolume: boolean;
}

/** A snapshot as CreateDBSnapshot, DescribeDBSnapshots, CopyDBSnapshot and DeleteDBSnapshot return it. */
export function toWireSnapshot(s: DbSnapshot, region: string): WireDBSnapshot {
  const w: WireDBSnapshot = {
    DBSnapshotIdentifier: s.id,
    DBInstanceIdentifier: s.instanceId,
    Engine: s.engine,
    AllocatedStorage: s.allocatedStorageGiB,
    Status: s.status,
    Port: s.port,
    InstanceCreateTime: s.instanceCreatedAt,
    MasterUsername: s.masterUsername,
    EngineVersion: s.engineVersion,
    LicenseModel: s.engine === 'postgres' ? 'postgresql-license' : 'general-public-license',
    SnapshotType: s.snapshotType,
    PercentProgress: s.percentProgress,
    StorageType: 'gp2',
    Encrypted: s.encrypted,
    DBSnapshotArn: s.arn,
    IAMDatabaseAuthenticationEnabled: false,
    DbiResourceId: s.resourceId,
    TagList: toWireTags(s.tags),
    OriginalSnapshotCreateTime: s.createdAt,
    SnapshotTarget: 'region',
    DedicatedLogVolume: false,
  };
  // RDS sets SnapshotCreateTime once the snapshot has its data (not while creating)
  if (s.status !== 'creating') w.SnapshotCreateTime = s.createdAt;
  if (s.kmsKeyId !== undefined) w.KmsKeyId = s.kmsKeyId;
  if (s.sourceSnapshotArn !== undefined) {
    w.SourceDBSnapshotIdentifier = s.sourceSnapshotArn;
    w.SourceRegion = region;
  }
  return w;
}

/** A snapshot's ARN: arn:<partition>:rds:<region>:<account>:snapshot:<identifier>. */
export function snapshotArn(partition: string, region: string, accountId: string, id: string): string {
  return `arn:${partition}:rds:${region}:${accountId}:snapshot:${id}`;
}

// RDS (CreateDBSnapshot DBSnapshotIdentifier): "Can't be null, empty, or blank. Must contain from 1
// to 255 letters, numbers, or hyphens. First character must be a letter. Can't end with a hyphen or
// contain two consecutive hyphens."
const SNAPSHOT_ID = /^[A-Za-z](?:[A-Za-z0-9]|-(?!-))*$/;

export function checkSnapshotId(value: string, name = 'DBSnapshotIdentifier'): string {
  if (value.length < 1 || value.length > 255 || !SNAPSHOT_ID.test(value) || value.endsWith('-')) {
    throw new InvalidParameterValue(`The parameter ${name} is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`);
  }
  return value.toLowerCase();
}

/** An identifier, or a snapshot ARN (its identifier, and the ARN as given: run() checks it is this account's and region's). */
export function snapshotRef(value: string, name: string): { id: string; arn?: string } {
  if (!value.startsWith('arn:')) return { id: checkSnapshotId(value, name) };
  const m = /^(arn:[a-z-]+:rds:[a-z0-9-]+:\d{12}:snapshot:)([A-Za-z][A-Za-z0-9-]{0,254})$/.exec(value);
  if (!m) throw new InvalidParameterValue(`The parameter ${name} is not a valid DB snapshot ARN: ${clip(value)}`);
  const id = checkSnapshotId(m[2]!, name);
  return { id, arn: m[1]! + id };
}
