import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMarker, describeDBInstances, encodeMarker } from './describe-db-instances.ts';
import { parseForm } from '../form.ts';
import { InMemoryDbServiceForTests, testContext, testEnv } from '../testing.ts';

test('markers are opaque and checked', () => {
  assert.equal(decodeMarker(encodeMarker('app-7')), 'app-7');
  for (const bad of ['', '!!', encodeMarker('Not An Id'), 'x'.repeat(101)]) {
    assert.throws(() => decodeMarker(bad), (e: Error) => e.name === 'InvalidParameterValue' && e.message === 'The parameter Marker is not valid: use the Marker from a previous response.');
  }
});

test('a filter matching few instances pages correctly across the DbService pages (limit 100)', async () => {
  const db = new InMemoryDbServiceForTests({ instant: true, versions: [
    { engine: 'postgres', engineVersion: '17.2', dbParameterGroupFamily: 'postgres17', description: 'PostgreSQL 17.2', binDir: '/x' },
    { engine: 'mariadb', engineVersion: '11.4', dbParameterGroupFamily: 'mariadb11.4', description: 'MariaDB 11.4', binDir: '/x' },
  ] });
  const ctx = testContext();
  for (let n = 0; n < 260; n++) {
    await db.create({ id: `i-${String(n).padStart(3, '0')}`, engine: n % 10 === 0 ? 'mariadb' : 'postgres', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20,
      masterUsername: 'app', manageMasterUserPassword: true, storageEncrypted: false, deletionProtection: false, tags: [] }, ctx);
  }
  const env = testEnv(db);
  const seen: string[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    const q = new URLSearchParams({ 'Filters.Filter.1.Name': 'engine', 'Filters.Filter.1.Values.Value.1': 'mariadb', MaxRecords: '20', ...(marker ? { Marker: marker } : {}) });
    const out = await describeDBInstances.run(describeDBInstances.decode(parseForm(q.toString())), env, ctx);
    seen.push(...(out.DBInstances as { DBInstanceIdentifier: string }[]).map((i) => i.DBInstanceIdentifier));
    marker = out.Marker as string | undefined;
    pages++;
  } while (marker);
  assert.equal(pages, 2);
  assert.deepEqual(seen, Array.from({ length: 26 }, (_, k) => `i-${String(k * 10).padStart(3, '0')}`));
  // exactly MaxRecords matches: no Marker
  const all = await describeDBInstances.run(describeDBInstances.decode(parseForm('MaxRecords=100&Filters.Filter.1.Name=db-instance-id&Filters.Filter.1.Values.Value.1=i-001')), env, ctx);
  assert.equal(all.Marker, undefined);
  assert.equal((all.DBInstances as unknown[]).length, 1);
});

test('an instance named by ARN must be in this account and region', async () => {
  const db = new InMemoryDbServiceForTests({ instant: true, accountId: '111122223333' });
  await db.create({ id: 'a', engine: 'postgres', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app', manageMasterUserPassword: true, storageEncrypted: false, deletionProtection: false, tags: [] }, testContext());
  const env = testEnv(db);
  const decode = (arn: string) => describeDBInstances.decode(parseForm(new URLSearchParams({ DBInstanceIdentifier: arn }).toString()));
  const ok = decode('arn:aws:rds:us-east-1:111122223333:db:A');
  assert.equal(describeDBInstances.resource(ok, env), 'arn:aws:rds:us-east-1:111122223333:db:a');
  assert.equal(((await describeDBInstances.run(ok, env, testContext())).DBInstances as unknown[]).length, 1);
  await assert.rejects(describeDBInstances.run(decode('arn:aws:rds:eu-west-1:111122223333:db:a'), env, testContext()),
    (e: Error) => e.name === 'DBInstanceNotFound' && e.message === 'DBInstance arn:aws:rds:eu-west-1:111122223333:db:a not found.');
  await assert.rejects(describeDBInstances.run(decode('arn:aws:rds:us-east-1:444455556666:db:a'), env, testContext()), (e: Error) => e.name === 'DBInstanceNotFound');
  assert.throws(() => decode('arn:aws:rds:us-east-1:111122223333:snapshot:a'), (e: Error) => e.name === 'InvalidParameterValue' && /not a valid DB instance ARN/.test(e.message));
});
