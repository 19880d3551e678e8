// The Amazon RDS Query API through the real @aws-sdk/client-rds against the real rekey server, with
// src/rds/testing.ts's in-memory DbService standing in for src/db (built in parallel). Shapes and
// list encodings follow botocore/data/rds/2014-10-31/service-2.json (DBInstance, TagList member
// "Tag", FilterList "Filter", FilterValueList "Value", KeyList "member"; MaxRecords 20-100); error
// codes and statuses follow its `error` traits (DBInstanceNotFound 404, the other faults 400).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as R from '@aws-sdk/client-rds';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { rdsClient } from './helpers/rds.ts';
import { InMemoryDbServiceForTests } from '../src/rds/testing.ts';

let s: TestServer;
let db: InMemoryDbServiceForTests;
let rds: R.RDSClient;
before(async () => {
  db = new InMemoryDbServiceForTests({ accountId: '111122223333' });
  s = await startTestServer({ db });
  rds = rdsClient(s);
});
after(async () => { await s.cleanup(); });

async function expectError(p: Promise<unknown>, name: string, message: string | RegExp, status = 400): Promise<void> {
  await assert.rejects(p, (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(e.name, name, `expected ${name}, got ${e.name}: ${e.message}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    assert.equal(e.$metadata?.httpStatusCode, status);
    return true;
  });
}

const base = (id: string): R.CreateDBInstanceCommandInput => ({
  DBInstanceIdentifier: id, Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app', ManageMasterUserPassword: true,
});

test('CreateDBInstance returns the instance as RDS shapes it; DescribeDBInstances shows it available after the work settles', async () => {
  const r = await rds.send(new R.CreateDBInstanceCommand({
    ...base('App-One'), StorageEncrypted: true, KmsKeyId: 'alias/app', DBName: 'appdb', DeletionProtection: false,
    Tags: [{ Key: 'team', Value: 'payments' }, { Key: 'env', Value: '' }],
  }));
  const i = r.DBInstance!;
  assert.equal(i.DBInstanceIdentifier, 'app-one'); // RDS stores identifiers in lower case
  assert.equal(i.DBInstanceArn, 'arn:aws:rds:us-east-1:111122223333:db:app-one');
  assert.match(i.DbiResourceId!, /^db-[A-Z2-7]{26}$/);
  assert.equal(i.DBInstanceStatus, 'creating');
  assert.equal(i.Engine, 'postgres');
  assert.equal(i.EngineVersion, '17.2');
  assert.equal(i.DBInstanceClass, 'db.t3.micro');
  assert.equal(i.AllocatedStorage, 20);
  assert.equal(i.MasterUsername, 'app');
  assert.equal(i.DBName, 'appdb');
  assert.equal(i.StorageEncrypted, true);
  assert.match(i.KmsKeyId!, /^arn:aws:kms:us-east-1:111122223333:key\//);
  assert.equal(i.DeletionProtection, false);
  assert.ok(i.InstanceCreateTime instanceof Date);
  assert.deepEqual(i.TagList, [{ Key: 'team', Value: 'payments' }, { Key: 'env', Value: '' }]);
  assert.match(i.MasterUserSecret!.SecretArn!, /^arn:aws:secretsmanager:us-east-1:111122223333:secret:rds!db-/);
  assert.equal(i.MasterUserSecret!.SecretStatus, 'active');
  assert.equal(i.Endpoint, undefined);
  assert.deepEqual(db.calls.at(-1)?.method, 'create');
  db.settle();
  const d = await rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: 'APP-ONE' }));
  assert.equal(d.DBInstances!.length, 1);
  assert.equal(d.DBInstances![0]!.DBInstanceStatus, 'available');
  assert.equal(d.DBInstances![0]!.Endpoint!.Address, '127.0.0.1');
  assert.equal(typeof d.DBInstances![0]!.Endpoint!.Port, 'number');
  // an ARN names the instance too
  const byArn = await rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: i.DBInstanceArn! }));
  assert.equal(byArn.DBInstances![0]!.DbiResourceId, i.DbiResourceId);
  await expectError(rds.send(new R.CreateDBInstanceCommand(base('app-one'))), 'DBInstanceAlreadyExistsFault', 'DB instance already exists');
});

test('DescribeDBInstances: unknown identifier, Filters and Marker/MaxRecords pagination', async () => {
  await expectError(rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: 'nope' })), 'DBInstanceNotFoundFault', 'DBInstance nope not found.', 404);
  for (let n = 0; n < 23; n++) {
    await rds.send(new R.CreateDBInstanceCommand(base(`page-${String(n).padStart(2, '0')}`)));
  }
  db.settle();
  const ids: string[] = [];
  let marker: string | undefined;
  let pages = 0;
  do {
    const r = await rds.send(new R.DescribeDBInstancesCommand({ MaxRecords: 20, Filters: [{ Name: 'engine', Values: ['postgres'] }], ...(marker ? { Marker: marker } : {}) }));
    ids.push(...r.DBInstances!.map((i) => i.DBInstanceIdentifier!));
    marker = r.Marker;
    pages++;
  } while (marker);
  assert.equal(pages, 2);
  const expected = (await db.list({ limit: 1000 })).instances.map((i) => i.id);
  assert.deepEqual(ids, expected);
  assert.ok(ids.length >= 24);
  const two = await rds.send(new R.DescribeDBInstancesCommand({ Filters: [{ Name: 'db-instance-id', Values: ['page-01', 'arn:aws:rds:us-east-1:111122223333:db:page-02'] }] }));
  assert.deepEqual(two.DBInstances!.map((i) => i.DBInstanceIdentifier), ['page-01', 'page-02']);
  const rid = two.DBInstances![1]!.DbiResourceId!;
  const one = await rds.send(new R.DescribeDBInstancesCommand({ Filters: [{ Name: 'dbi-resource-id', Values: [rid] }] }));
  assert.deepEqual(one.DBInstances!.map((i) => i.DBInstanceIdentifier), ['page-02']);
  const none = await rds.send(new R.DescribeDBInstancesCommand({ Filters: [{ Name: 'engine', Values: ['mariadb'] }] }));
  assert.deepEqual(none.DBInstances, []);
  await expectError(rds.send(new R.DescribeDBInstancesCommand({ MaxRecords: 5 })), 'InvalidParameterValue', 'Invalid value 5 for MaxRecords. Must be between 20 and 100');
  await expectError(rds.send(new R.DescribeDBInstancesCommand({ Filters: [{ Name: 'domain', Values: ['x'] }] })), 'InvalidParameterValue', /^Unrecognized filter name: domain\./);
  await expectError(rds.send(new R.DescribeDBInstancesCommand({ Marker: '!!' })), 'InvalidParameterValue', 'The parameter Marker is not valid: use the Marker from a previous response.');
});

test('ModifyDBInstance: DeletionProtection, MasterUserPassword pending as ****, combinations refused', async () => {
  await rds.send(new R.CreateDBInstanceCommand({ ...base('modme'), ManageMasterUserPassword: false, MasterUserPassword: 'first-Passw0rd' }));
  db.settle();
  const p = await rds.send(new R.ModifyDBInstanceCommand({ DBInstanceIdentifier: 'modme', DeletionProtection: true }));
  assert.equal(p.DBInstance!.DeletionProtection, true);
  const m = await rds.send(new R.ModifyDBInstanceCommand({ DBInstanceIdentifier: 'modme', MasterUserPassword: 'second-Passw0rd', ApplyImmediately: true }));
  assert.equal(m.DBInstance!.PendingModifiedValues!.MasterUserPassword, '****');
  assert.equal(m.DBInstance!.DBInstanceStatus, 'modifying');
  db.settle();
  await expectError(rds.send(new R.ModifyDBInstanceCommand({ DBInstanceIdentifier: 'modme', MasterUserPassword: 'third-Passw0rd', ManageMasterUserPassword: true })),
    'InvalidParameterCombination', 'You can\'t specify MasterUserPassword when ManageMasterUserPassword is turned on.');
  await expectError(rds.send(new R.ModifyDBInstanceCommand({ DBInstanceIdentifier: 'modme', MasterUserSecretKmsKeyId: 'alias/x' })),
    'InvalidParameterCombination', 'You can\'t specify MasterUserSecretKmsKeyId unless ManageMasterUserPassword is turned on.');
  await expectError(rds.send(new R.ModifyDBInstanceCommand({ DBInstanceIdentifier: 'modme', AllocatedStorage: 100 })), 'InvalidParameterValue', /^rekey does not support modifying AllocatedStorage/);
  const managed = await rds.send(new R.ModifyDBInstanceCommand({ DBInstanceIdentifier: 'modme', ManageMasterUserPassword: true, MasterUserSecretKmsKeyId: 'alias/secrets', ApplyImmediately: true }));
  assert.match(managed.DBInstance!.MasterUserSecret!.SecretArn!, /secret:rds!db-/);
  await expectError(rds.send(new R.ModifyDBInstanceCommand({ DBInstanceIdentifier: 'ghost', DeletionProtection: true })), 'DBInstanceNotFoundFault', 'DBInstance ghost not found.', 404);
});

test('StopDBInstance, StartDBInstance, RebootDBInstance move the status; wrong states are InvalidDBInstanceState', async () => {
  await rds.send(new R.CreateDBInstanceCommand(base('cycle')));
  await expectError(rds.send(new R.StopDBInstanceCommand({ DBInstanceIdentifier: 'cycle' })), 'InvalidDBInstanceStateFault', 'Instance cycle is not in available state.');
  db.settle();
  assert.equal((await rds.send(new R.StopDBInstanceCommand({ DBInstanceIdentifier: 'cycle' }))).DBInstance!.DBInstanceStatus, 'stopping');
  db.settle();
  assert.equal((await rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: 'cycle' }))).DBInstances![0]!.DBInstanceStatus, 'stopped');
  await expectError(rds.send(new R.RebootDBInstanceCommand({ DBInstanceIdentifier: 'cycle' })), 'InvalidDBInstanceStateFault', 'Instance cycle is not in available state.');
  assert.equal((await rds.send(new R.StartDBInstanceCommand({ DBInstanceIdentifier: 'cycle' }))).DBInstance!.DBInstanceStatus, 'starting');
  db.settle();
  await expectError(rds.send(new R.StartDBInstanceCommand({ DBInstanceIdentifier: 'cycle' })), 'InvalidDBInstanceStateFault', 'Instance cycle is not stopped, it cannot be started.');
  assert.equal((await rds.send(new R.RebootDBInstanceCommand({ DBInstanceIdentifier: 'cycle' }))).DBInstance!.DBInstanceStatus, 'rebooting');
  db.settle();
  await expectError(rds.send(new R.RebootDBInstanceCommand({ DBInstanceIdentifier: 'cycle', ForceFailover: true })), 'InvalidParameterValue', 'rekey does not support ForceFailover (instances are not Multi-AZ).');
});

test('DeleteDBInstance: SkipFinalSnapshot / FinalDBSnapshotIdentifier rules, DeletionProtection, then gone', async () => {
  await rds.send(new R.CreateDBInstanceCommand({ ...base('doomed'), DeletionProtection: true }));
  db.settle();
  await expectError(rds.send(new R.DeleteDBInstanceCommand({ DBInstanceIdentifier: 'doomed' })), 'InvalidParameterCombination', 'FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
  await expectError(rds.send(new R.DeleteDBInstanceCommand({ DBInstanceIdentifier: 'doomed', SkipFinalSnapshot: true, FinalDBSnapshotIdentifier: 'final' })),
    'InvalidParameterCombination', 'Cannot specify both SkipFinalSnapshot and FinalDBSnapshotIdentifier.');
  await expectError(rds.send(new R.DeleteDBInstanceCommand({ DBInstanceIdentifier: 'doomed', FinalDBSnapshotIdentifier: 'final--x' })),
    'InvalidParameterValue', /^The parameter FinalDBSnapshotIdentifier is not a valid identifier\./);
  await expectError(rds.send(new R.DeleteDBInstanceCommand({ DBInstanceIdentifier: 'doomed', SkipFinalSnapshot: true })),
    'InvalidParameterCombination', 'Cannot delete protected DB Instance, please disable deletion protection and try again.');
  await rds.send(new R.ModifyDBInstanceCommand({ DBInstanceIdentifier: 'doomed', DeletionProtection: false }));
  const d = await rds.send(new R.DeleteDBInstanceCommand({ DBInstanceIdentifier: 'doomed', SkipFinalSnapshot: true }));
  assert.equal(d.DBInstance!.DBInstanceStatus, 'deleting');
  db.settle();
  await expectError(rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: 'doomed' })), 'DBInstanceNotFoundFault', 'DBInstance doomed not found.', 404);
});

test('DescribeDBEngineVersions lists installed versions; Engine, EngineVersion (major), DefaultOnly', async () => {
  const all = await rds.send(new R.DescribeDBEngineVersionsCommand({}));
  assert.deepEqual(all.DBEngineVersions!.map((v) => `${v.Engine} ${v.EngineVersion} ${v.DBParameterGroupFamily}`), ['postgres 16.4 postgres16', 'postgres 17.2 postgres17']);
  assert.equal(all.DBEngineVersions![0]!.DBEngineDescription, 'PostgreSQL');
  assert.equal(all.DBEngineVersions![0]!.MajorEngineVersion, '16');
  const major = await rds.send(new R.DescribeDBEngineVersionsCommand({ Engine: 'postgres', EngineVersion: '16' }));
  assert.deepEqual(major.DBEngineVersions!.map((v) => v.EngineVersion), ['16.4']);
  const def = await rds.send(new R.DescribeDBEngineVersionsCommand({ Engine: 'postgres', DefaultOnly: true }));
  assert.deepEqual(def.DBEngineVersions!.map((v) => v.EngineVersion), ['17.2']);
  const none = await rds.send(new R.DescribeDBEngineVersionsCommand({ Engine: 'mariadb' }));
  assert.deepEqual(none.DBEngineVersions, []);
  // an engine with nothing installed cannot be created; an unknown version neither
  await expectError(rds.send(new R.CreateDBInstanceCommand({ ...base('maria'), Engine: 'mariadb' })), 'InvalidParameterValue',
    'Engine mariadb is not installed on this rekey node (install the MariaDB server).');
  await expectError(rds.send(new R.CreateDBInstanceCommand({ ...base('old'), EngineVersion: '9.6' })), 'InvalidParameterValue', 'Cannot find version 9.6 for postgres');
  assert.equal((await rds.send(new R.CreateDBInstanceCommand({ ...base('sixteen'), EngineVersion: '16' }))).DBInstance!.EngineVersion, '16.4');
});

test('AddTagsToResource / ListTagsForResource / RemoveTagsFromResource by instance ARN', async () => {
  const arn = (await rds.send(new R.CreateDBInstanceCommand({ ...base('tagged'), Tags: [{ Key: 'a', Value: '1' }] }))).DBInstance!.DBInstanceArn!;
  await rds.send(new R.AddTagsToResourceCommand({ ResourceName: arn, Tags: [{ Key: 'b', Value: '2' }, { Key: 'a', Value: 'one' }] }));
  assert.deepEqual((await rds.send(new R.ListTagsForResourceCommand({ ResourceName: arn }))).TagList, [{ Key: 'a', Value: 'one' }, { Key: 'b', Value: '2' }]);
  await rds.send(new R.RemoveTagsFromResourceCommand({ ResourceName: arn, TagKeys: ['a', 'missing'] }));
  assert.deepEqual((await rds.send(new R.ListTagsForResourceCommand({ ResourceName: arn }))).TagList, [{ Key: 'b', Value: '2' }]);
  assert.deepEqual((await rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: 'tagged' }))).DBInstances![0]!.TagList, [{ Key: 'b', Value: '2' }]);
  await expectError(rds.send(new R.ListTagsForResourceCommand({ ResourceName: 'arn:aws:rds:us-east-1:111122223333:db:absent' })), 'DBInstanceNotFoundFault',
    'DBInstance arn:aws:rds:us-east-1:111122223333:db:absent not found.', 404);
  await expectError(rds.send(new R.ListTagsForResourceCommand({ ResourceName: 'tagged' })), 'InvalidParameterValue',
    'The specified resource name does not match an RDS resource in this region: tagged');
  await expectError(rds.send(new R.AddTagsToResourceCommand({ ResourceName: arn, Tags: [{ Key: 'aws:x', Value: '1' }] })), 'InvalidParameterValue',
    'The tag key aws:x uses a reserved prefix (aws: or rds:).');
});
