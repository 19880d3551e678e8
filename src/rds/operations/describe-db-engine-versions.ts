// DescribeDBEngineVersions: the engine versions installed on this node (src/db finds the binaries).
// Engine, EngineVersion (a full version or a major version), DBParameterGroupFamily, DefaultOnly
// (the newest version of each engine), Filters engine / engine-version, Marker/MaxRecords (20-100).
import { InvalidParameterValue } from '../../errors.ts';
import type { DbEngineVersion } from '../../db/api.ts';
import { defineOperation } from '../operation.ts';
import { clip, filtersOf, optBool, optInt, optString, type WireFilter } from '../validate.ts';
import { toWireEngineVersion } from '../wire.ts';
import { maxRecordsOf } from './describe-db-instances.ts';

export interface DescribeDBEngineVersionsRequest {
  Engine?: string;
  EngineVersion?: string;
  DBParameterGroupFamily?: string;
  DefaultOnly: boolean;
  Filters?: WireFilter[];
  MaxRecords: number;
  Marker?: string;
}

const versionMatches = (v: DbEngineVersion, want: string) => v.engineVersion === want || v.engineVersion.split('.')[0] === want;

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export const describeDBEngineVersions = defineOperation<DescribeDBEngineVersionsRequest>({
  name: 'DescribeDBEngineVersions',
  mutating: false,
  decode(p) {
    const engine = optString(p, 'Engine');
    const version = optString(p, 'EngineVersion');
    const family = optString(p, 'DBParameterGroupFamily');
    const filters = filtersOf(p);
    const marker = optString(p, 'Marker');
    for (const f of filters ?? []) {
      if (f.Name !== 'engine' && f.Name !== 'engine-version') throw new InvalidParameterValue(`Unrecognized filter name: ${clip(f.Name)}. rekey supports: engine, engine-version.`);
    }
    if (marker !== undefined && !/^\d{1,4}$/.test(marker)) throw new InvalidParameterValue('The parameter Marker is not valid: use the Marker from a previous response.');
    return {
      DefaultOnly: optBool(p, 'DefaultOnly') ?? false, MaxRecords: maxRecordsOf(optInt(p, 'MaxRecords')),
      ...(engine !== undefined ? { Engine: engine } : {}),
      ...(version !== undefined ? { EngineVersion: version } : {}),
      ...(family !== undefined ? { DBParameterGroupFamily: family } : {}),
      ...(filters ? { Filters: filters } : {}),
      ...(marker !== undefined ? { Marker: marker } : {}),
    };
  },
  resource: () => '*',
  async run(r, env) {
    let versions = await env.db.engineVersions(r.Engine !== undefined ? { engine: r.Engine } : undefined);
    if (r.Engine !== undefined) versions = versions.filter((v) => v.engine === r.Engine);
    if (r.EngineVersion !== undefined) versions = versions.filter((v) => versionMatches(v, r.EngineVersion!));
    if (r.DBParameterGroupFamily !== undefined) versions = versions.filter((v) => v.dbParameterGroupFamily === r.DBParameterGroupFamily);
    for (const f of r.Filters ?? []) {
      versions = versions.filter((v) => (f.Name === 'engine' ? f.Values.includes(v.engine) : f.Values.some((w) => versionMatches(v, w))));
    }
    versions = [...versions].sort((a, b) => a.engine.localeCompare(b.engine) || compareVersions(a.engineVersion, b.engineVersion));
    if (r.DefaultOnly) {
      const newest = new Map<string, DbEngineVersion>();
      for (const v of versions) newest.set(v.engine, v);
      versions = [...newest.values()];
    }
    const start = r.Marker !== undefined ? Number(r.Marker) : 0;
    const page = versions.slice(start, start + r.MaxRecords);
    const next = start + r.MaxRecords < versions.length ? String(start + r.MaxRecords) : undefined;
    return { DBEngineVersions: page.map(toWireEngineVersion), ...(next ? { Marker: next } : {}) };
  },
});
