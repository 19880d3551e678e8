// DescribeDBSnapshots: one snapshot (DBSnapshotIdentifier, an identifier or an ARN) or a page of
// them, by DBInstanceIdentifier, SnapshotType (rekey has manual snapshots only: the other types
// list nothing), Filters (db-instance-id, db-snapshot-id, dbi-resource-id, snapshot-type, engine)
// and Marker/MaxRecords (20-100, default 100, as DescribeDBInstances). The Marker is opaque.
import { DBSnapshotNotFoundFault, InvalidParameterValue } from '../../errors.ts';
import type { DbSnapshot } from '../../db/api.ts';
import { defineOperation } from '../operation.ts';
import { checkIdentifier, clip, filtersOf, optInt, optString, type WireFilter } from '../validate.ts';
import { idFromInstanceArn } from '../wire.ts';
import { snapshotArn, snapshotRef, toWireSnapshot } from '../snapshot-wire.ts';
import { maxRecordsOf } from './describe-db-instances.ts';

export interface DescribeDBSnapshotsRequest {
  DBSnapshotIdentifier?: string;
  DBSnapshotArn?: string;
  DBInstanceIdentifier?: string;
  SnapshotType?: string;
  Filters?: WireFilter[];
  MaxRecords: number;
  Marker?: string;
}

export const SNAPSHOT_FILTERS = ['db-instance-id', 'db-snapshot-id', 'dbi-resource-id', 'snapshot-type', 'engine'] as const;
const SNAPSHOT_TYPES = ['manual', 'automated', 'shared', 'public', 'awsbackup'];

const encodeMarker = (id: string) => Buffer.from(id, 'utf8').toString('base64url');
function decodeMarker(marker: string): string {
  const id = /^[A-Za-z0-9_-]{1,400}$/.test(marker) ? Buffer.from(marker, 'base64url').toString('utf8') : '';
  if (!/^[a-z][a-z0-9-]{0,254}$/.test(id)) throw new InvalidParameterValue('The parameter Marker is not valid: use the Marker from a previous response.');
  return id;
}

function matcher(filters: readonly WireFilter[]): (s: DbSnapshot) => boolean {
  const tests = filters.map((f) => {
    const lower = f.Values.map((v) => v.toLowerCase());
    switch (f.Name) {
      case 'db-instance-id': {
        const ids = new Set(f.Values.map((v) => (v.startsWith('arn:') ? (idFromInstanceArn(v) ?? v) : v.toLowerCase())));
        return (s: DbSnapshot) => ids.has(s.instanceId);
      }
      case 'db-snapshot-id': return (s: DbSnapshot) => lower.includes(s.id) || f.Values.includes(s.arn);
      case 'dbi-resource-id': return (s: DbSnapshot) => f.Values.includes(s.resourceId);
      case 'snapshot-type': return (s: DbSnapshot) => lower.includes(s.snapshotType);
      case 'engine': return (s: DbSnapshot) => f.Values.includes(s.engine);
      default: throw new InvalidParameterValue(`Unrecognized filter name: ${clip(f.Name)}. rekey supports: ${SNAPSHOT_FILTERS.join(', ')}.`);
    }
  });
  return (s) => tests.every((t) => t(s));
}

export const describeDBSnapshots = defineOperation<DescribeDBSnapshotsRequest>({
  name: 'DescribeDBSnapshots',
  mutating: false,
  decode(p) {
    const id = optString(p, 'DBSnapshotIdentifier');
    const ref = id !== undefined ? snapshotRef(id, 'DBSnapshotIdentifier') : undefined;
    const inst = optString(p, 'DBInstanceIdentifier');
    const type = optString(p, 'SnapshotType');
    if (type !== undefined && !SNAPSHOT_TYPES.includes(type)) throw new InvalidParameterValue(`Invalid value ${clip(type)} for SnapshotType. Must be one of: ${SNAPSHOT_TYPES.join(', ')}`);
    const filters = filtersOf(p);
    const marker = optString(p, 'Marker');
    if (marker !== undefined && marker !== '') decodeMarker(marker);
    return {
      MaxRecords: maxRecordsOf(optInt(p, 'MaxRecords')),
      ...(ref ? { DBSnapshotIdentifier: ref.id, ...(ref.arn ? { DBSnapshotArn: ref.arn } : {}) } : {}),
      ...(inst !== undefined ? { DBInstanceIdentifier: inst.startsWith('arn:') ? (idFromInstanceArn(inst) ?? checkIdentifier(inst)) : checkIdentifier(inst) } : {}),
      ...(type !== undefined ? { SnapshotType: type } : {}),
      ...(filters ? { Filters: filters } : {}),
      ...(marker !== undefined && marker !== '' ? { Marker: marker } : {}),
    };
  },
  resource: (r, env) => r.DBSnapshotArn ?? (r.DBSnapshotIdentifier ? snapshotArn(env.partition, env.region, env.accountId, r.DBSnapshotIdentifier) : '*'),
  async run(r, env) {
    const match = matcher(r.Filters ?? []);
    const typeOk = (s: DbSnapshot) => r.SnapshotType === undefined || r.SnapshotType === s.snapshotType;
    if (r.DBSnapshotIdentifier !== undefined) {
      if (r.DBSnapshotArn && r.DBSnapshotArn !== snapshotArn(env.partition, env.region, env.accountId, r.DBSnapshotIdentifier)) {
        throw new DBSnapshotNotFoundFault(`DBSnapshot ${r.DBSnapshotArn} not found.`);
      }
      const page = await env.db.describeSnapshots({ id: r.DBSnapshotIdentifier, ...(r.DBInstanceIdentifier ? { instanceId: r.DBInstanceIdentifier } : {}), limit: 1 });
      return { DBSnapshots: page.snapshots.filter((s) => match(s) && typeOk(s)).map((s) => toWireSnapshot(s, env.region)) };
    }
    const found: DbSnapshot[] = [];
    let after = r.Marker !== undefined ? decodeMarker(r.Marker) : undefined;
    for (;;) {
      const page = await env.db.describeSnapshots({ ...(after !== undefined ? { after } : {}), ...(r.DBInstanceIdentifier ? { instanceId: r.DBInstanceIdentifier } : {}), limit: 100 });
      for (const s of page.snapshots) if (match(s) && typeOk(s)) found.push(s);
      if (found.length > r.MaxRecords || page.next === undefined || page.snapshots.length === 0) break;
      after = page.next;
    }
    const shown = found.slice(0, r.MaxRecords);
    return {
      ...(found.length > r.MaxRecords ? { Marker: encodeMarker(shown[shown.length - 1]!.id) } : {}),
      DBSnapshots: shown.map((s) => toWireSnapshot(s, env.region)),
    };
  },
});
