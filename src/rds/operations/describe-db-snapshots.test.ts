import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeDBSnapshots } from './describe-db-snapshots.ts';
import { parseForm } from '../form.ts';
import { testContext, testEnv } from '../testing.ts';
import { dbWithInstance } from './snapshot-test-helpers.ts';

test('DescribeDBSnapshots: one, by instance, filters, SnapshotType, Marker/MaxRecords paging', async () => {
  const db = await dbWithInstance();
  for (let i = 0; i < 25; i++) await db.createSnapshot({ id: `s-${String(i).padStart(2, '0')}`, instanceId: 'app', tags: [] }, testContext());
  const env = testEnv(db);
  const ids = (r: Record<string, unknown>) => (r.DBSnapshots as { DBSnapshotIdentifier: string }[]).map((s) => s.DBSnapshotIdentifier);
  const one = describeDBSnapshots.decode(parseForm('DBSnapshotIdentifier=S-03'));
  assert.equal(describeDBSnapshots.resource(one, env), 'arn:aws:rds:us-east-1:111122223333:snapshot:s-03');
  assert.deepEqual(ids(await describeDBSnapshots.run(one, env, testContext())), ['s-03']);
  const all = describeDBSnapshots.decode(parseForm('MaxRecords=20'));
  assert.equal(describeDBSnapshots.resource(all, env), '*');
  const p1 = await describeDBSnapshots.run(all, env, testContext());
  assert.equal(ids(p1).length, 20);
  const p2 = await describeDBSnapshots.run(describeDBSnapshots.decode(parseForm(`MaxRecords=20&Marker=${p1.Marker as string}`)), env, testContext());
  assert.deepEqual(ids(p2), ['s-20', 's-21', 's-22', 's-23', 's-24']);
  assert.equal(p2.Marker, undefined);
  const f = describeDBSnapshots.decode(parseForm('Filters.Filter.1.Name=db-snapshot-id&Filters.Filter.1.Values.Value.1=s-01&Filters.Filter.1.Values.Value.2=s-02'));
  assert.deepEqual(ids(await describeDBSnapshots.run(f, env, testContext())), ['s-01', 's-02']);
  assert.deepEqual(ids(await describeDBSnapshots.run(describeDBSnapshots.decode(parseForm('SnapshotType=automated')), env, testContext())), []);
  assert.equal(ids(await describeDBSnapshots.run(describeDBSnapshots.decode(parseForm('DBInstanceIdentifier=app')), env, testContext())).length, 25);
  assert.throws(() => describeDBSnapshots.decode(parseForm('SnapshotType=weekly')),
    (e: Error) => e.name === 'InvalidParameterValue' && e.message === 'Invalid value weekly for SnapshotType. Must be one of: manual, automated, shared, public, awsbackup');
  await assert.rejects(describeDBSnapshots.run(describeDBSnapshots.decode(parseForm('Filters.Filter.1.Name=size&Filters.Filter.1.Values.Value.1=1')), env, testContext()),
    (e: Error) => e.name === 'InvalidParameterValue' && e.message === 'Unrecognized filter name: size. rekey supports: db-instance-id, db-snapshot-id, dbi-resource-id, snapshot-type, engine.');
  assert.throws(() => describeDBSnapshots.decode(parseForm('Marker=%21%21')), (e: Error) => e.name === 'InvalidParameterValue' && e.message === 'The parameter Marker is not valid: use the Marker from a previous response.');
  await assert.rejects(describeDBSnapshots.run(describeDBSnapshots.decode(parseForm('DBSnapshotIdentifier=ghost')), env, testContext()),
    (e: Error) => e.name === 'DBSnapshotNotFound' && e.message === 'DBSnapshot ghost not found.');
});
