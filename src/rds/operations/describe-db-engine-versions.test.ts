import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeDBEngineVersions } from './describe-db-engine-versions.ts';
import { parseForm } from '../form.ts';
import { InMemoryDbServiceForTests, testContext, testEnv } from '../testing.ts';

test('versions sorted numerically, paged with Marker, filtered by engine-version (major or full)', async () => {
  const versions = Array.from({ length: 25 }, (_, i) => ({ engine: 'postgres' as const, engineVersion: `${10 + (i % 9)}.${i}`, dbParameterGroupFamily: `postgres${10 + (i % 9)}`, description: 'PostgreSQL', binDir: '/x' }));
  const env = testEnv(new InMemoryDbServiceForTests({ versions }));
  const first = await describeDBEngineVersions.run(describeDBEngineVersions.decode(parseForm('MaxRecords=20')), env, testContext());
  const second = await describeDBEngineVersions.run(describeDBEngineVersions.decode(parseForm(`MaxRecords=20&Marker=${first.Marker as string}`)), env, testContext());
  const all = [...(first.DBEngineVersions as { EngineVersion: string }[]), ...(second.DBEngineVersions as { EngineVersion: string }[])].map((v) => v.EngineVersion);
  assert.equal(all.length, 25);
  assert.equal(second.Marker, undefined);
  const sortedNumerically = [...all].sort((a, b) => Number(a.split('.')[0]) - Number(b.split('.')[0]) || Number(a.split('.')[1]) - Number(b.split('.')[1]));
  assert.deepEqual(all, sortedNumerically);
  const twelve = await describeDBEngineVersions.run(describeDBEngineVersions.decode(parseForm('Filters.Filter.1.Name=engine-version&Filters.Filter.1.Values.Value.1=12')), env, testContext());
  assert.deepEqual((twelve.DBEngineVersions as { EngineVersion: string }[]).map((v) => v.EngineVersion), ['12.2', '12.11', '12.20']);
  assert.throws(() => describeDBEngineVersions.decode(parseForm('Filters.Filter.1.Name=status&Filters.Filter.1.Values.Value.1=x')),
    (e: Error) => e.name === 'InvalidParameterValue' && e.message === 'Unrecognized filter name: status. rekey supports: engine, engine-version.');
});
