// DescribeDBInstances: one instance (DBInstanceIdentifier, an identifier or an ARN) or a page of
// them, with Filters db-instance-id (identifiers or ARNs), dbi-resource-id and engine, and
// Marker/MaxRecords (RDS: MaxRecords default 100, minimum 20, maximum 100). The Marker is opaque:
// base64url of the last identifier returned.
import { DBInstanceNotFoundFault, InvalidParameterValue } from '../../errors.ts';
import type { DbInstance } from '../../db/api.ts';
import { defineOperation } from '../operation.ts';
import { checkIdentifier, clip, filtersOf, optInt, optString, type WireFilter } from '../validate.ts';
import { idFromInstanceArn, instanceArn, toWireInstance } from '../wire.ts';

export interface DescribeDBInstancesRequest {
  DBInstanceIdentifier?: string;
  /** When the caller named the instance by ARN: it must be this account's and region's. */
  DBInstanceArn?: string;
  Filters?: WireFilter[];
  MaxRecords: number;
  Marker?: string;
}

export const FILTER_NAMES = ['db-instance-id', 'dbi-resource-id', 'engine'] as const;
export const MAX_RECORDS = { min: 20, max: 100, default: 100 } as const;

/** An identifier, or the identifier inside an instance ARN. */
export function idOrArn(value: string, name: string): string {
  if (value.startsWith('arn:')) {
    const id = idFromInstanceArn(value);
    if (!id) throw new InvalidParameterValue(`The parameter ${name} is not a valid DB instance ARN: ${clip(value)}`);
    return id;
  }
  return checkIdentifier(value, name);
}

export function encodeMarker(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

export function decodeMarker(marker: string): string {
  const id = /^[A-Za-z0-9_-]{1,100}$/.test(marker) ? Buffer.from(marker, 'base64url').toString('utf8') : '';
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(id)) throw new InvalidParameterValue('The parameter Marker is not valid: use the Marker from a previous response.');
  return id;
}

export function maxRecordsOf(value: number | undefined): number {
  if (value === undefined) return MAX_RECORDS.default;
  if (value < MAX_RECORDS.min || value > MAX_RECORDS.max) throw new InvalidParameterValue(`Invalid value ${value} for MaxRecords. Must be between ${MAX_RECORDS.min} and ${MAX_RECORDS.max}`);
  return value;
}

function matcher(filters: readonly WireFilter[]): (i: DbInstance) => boolean {
  const tests = filters.map((f) => {
    switch (f.Name) {
      case 'db-instance-id': {
        const ids = new Set(f.Values.map((v) => (v.startsWith('arn:') ? (idFromInstanceArn(v) ?? v) : v.toLowerCase())));
        return (i: DbInstance) => ids.has(i.id);
      }
      case 'dbi-resource-id': return (i: DbInstance) => f.Values.includes(i.resourceId);
      case 'engine': return (i: DbInstance) => f.Values.includes(i.engine);
      default: throw new InvalidParameterValue(`Unrecognized filter name: ${clip(f.Name)}. rekey supports: ${FILTER_NAMES.join(', ')}.`);
    }
  });
  return (i) => tests.every((t) => t(i));
}

export const describeDBInstances = defineOperation<DescribeDBInstancesRequest>({
  name: 'DescribeDBInstances',
  mutating: false,
  decode(p) {
    const id = optString(p, 'DBInstanceIdentifier');
    const filters = filtersOf(p);
    const marker = optString(p, 'Marker');
    return {
      MaxRecords: maxRecordsOf(optInt(p, 'MaxRecords')),
      ...(id !== undefined ? { DBInstanceIdentifier: idOrArn(id, 'DBInstanceIdentifier') } : {}),
      ...(id !== undefined && id.startsWith('arn:') ? { DBInstanceArn: id.slice(0, id.lastIndexOf(':') + 1) + idOrArn(id, 'DBInstanceIdentifier') } : {}),
      ...(filters ? { Filters: filters } : {}),
      ...(marker !== undefined && marker !== '' ? { Marker: marker } : {}),
    };
  },
  resource: (r, env) => r.DBInstanceArn ?? (r.DBInstanceIdentifier ? instanceArn(env.partition, env.region, env.accountId, r.DBInstanceIdentifier) : '*'),
  async run(r, env) {
    const match = matcher(r.Filters ?? []);
    if (r.DBInstanceIdentifier !== undefined) {
      const expected = instanceArn(env.partition, env.region, env.accountId, r.DBInstanceIdentifier);
      if (r.DBInstanceArn !== undefined && r.DBInstanceArn !== expected) throw new DBInstanceNotFoundFault(`DBInstance ${r.DBInstanceArn} not found.`);
      const one = await env.db.get(r.DBInstanceIdentifier);
      return { DBInstances: match(one) ? [toWireInstance(one)] : [] };
    }
    // Collect up to MaxRecords + 1 matches, so a Marker is returned only when more follow.
    const found: DbInstance[] = [];
    let after = r.Marker !== undefined ? decodeMarker(r.Marker) : undefined;
    for (;;) {
      const page = await env.db.list({ ...(after !== undefined ? { after } : {}), limit: 100 });
      for (const i of page.instances) if (match(i)) found.push(i);
      if (found.length > r.MaxRecords || page.next === undefined || page.instances.length === 0) break;
      after = page.next;
    }
    const shown = found.slice(0, r.MaxRecords);
    const more = found.length > r.MaxRecords;
    return { ...(more ? { Marker: encodeMarker(shown[shown.length - 1]!.id) } : {}), DBInstances: shown.map(toWireInstance) };
  },
});
