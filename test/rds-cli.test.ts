// The Amazon RDS Query API through the real AWS CLI (botocore's query serializer: Tags.Tag.N.Key,
// Filters.Filter.N.Values.Value.N, TagKeys.member.N, as botocore/data/rds/2014-10-31/service-2.json
// names the list members), against the real rekey server with src/rds/testing.ts's DbService
// double. Skips only where the CLI is not installed (never with CI=true).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { awsCli, awsCliSkipReason } from './helpers/aws-cli.ts';
import { InMemoryDbServiceForTests } from '../src/rds/testing.ts';

const skip = awsCliSkipReason();
let s: TestServer;
let db: InMemoryDbServiceForTests;
before(async () => {
  if (skip) return;
  db = new InMemoryDbServiceForTests({ accountId: '111122223333' });
  s = await startTestServer({ db });
});
after(async () => { if (!skip) await s.cleanup(); });

async function rds(...args: string[]): Promise<string> {
  const r = await awsCli('rds', s.url, args);
  assert.equal(r.status, 0, `aws rds ${args.join(' ')}: ${r.err}`);
  return r.out;
}

test('aws rds: create, describe (filters, pagination), modify, stop/start/reboot, tags, engine versions, delete', { skip }, async () => {
  const created = await rds('create-db-instance', '--db-instance-identifier', 'app', '--engine', 'postgres', '--db-instance-class', 'db.t3.micro',
    '--allocated-storage', '20', '--master-username', 'app', '--manage-master-user-password', '--storage-encrypted', '--kms-key-id', 'alias/app',
    '--tags', 'Key=team,Value=payments', 'Key=env,Value=dev', '--query', 'DBInstance.[DBInstanceIdentifier,DBInstanceStatus,StorageEncrypted,DBInstanceArn]');
  assert.equal(created, 'app\tcreating\tTrue\tarn:aws:rds:us-east-1:111122223333:db:app');
  db.settle();
  assert.equal(await rds('describe-db-instances', '--db-instance-identifier', 'app', '--query', 'DBInstances[0].[DBInstanceStatus,Endpoint.Address,MasterUserSecret.SecretStatus]'), 'available\t127.0.0.1\tactive');
  // 21 more, straight into the double (a CLI run per instance would take a minute); the CLI pages through them
  const ctx = { caller: s.iam.accountId as never, requestId: 'bulk', sourceIp: '127.0.0.1', secureTransport: false, userAgent: 'test' };
  for (let n = 0; n < 21; n++) {
    await db.create({ id: `bulk-${String(n).padStart(2, '0')}`, engine: 'postgres', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app',
      masterUserPassword: 'Bulk-Passw0rd', manageMasterUserPassword: false, storageEncrypted: false, deletionProtection: false, tags: [] }, ctx);
  }
  db.settle();
  // --page-size makes the CLI follow Marker itself: 22 instances in pages of 20
  const ids = (await rds('describe-db-instances', '--page-size', '20', '--query', 'DBInstances[].DBInstanceIdentifier')).split(/\s+/);
  assert.equal(ids.length, 22);
  assert.deepEqual(ids, [...ids].sort());
  // one page by hand: --max-records 20 --no-paginate returns the Marker; --marker continues after it
  const marker = await rds('describe-db-instances', '--no-paginate', '--max-records', '20', '--query', 'Marker');
  assert.match(marker, /^[A-Za-z0-9_-]+$/);
  assert.equal(await rds('describe-db-instances', '--no-paginate', '--max-records', '20', '--marker', marker, '--query', 'DBInstances[].DBInstanceIdentifier'), ids.slice(20).join('\t'));
  assert.equal(await rds('describe-db-instances', '--filters', 'Name=db-instance-id,Values=bulk-03,bulk-04', '--query', 'DBInstances[].DBInstanceIdentifier'), 'bulk-03\tbulk-04');
  assert.equal(await rds('describe-db-instances', '--filters', 'Name=engine,Values=mariadb', '--query', 'length(DBInstances)'), '0');
  assert.equal(await rds('modify-db-instance', '--db-instance-identifier', 'app', '--deletion-protection', '--apply-immediately', '--query', 'DBInstance.DeletionProtection'), 'True');
  assert.equal(await rds('modify-db-instance', '--db-instance-identifier', 'bulk-00', '--master-user-password', 'New-Passw0rd-1', '--apply-immediately',
    '--query', 'DBInstance.PendingModifiedValues.MasterUserPassword'), '****');
  db.settle();
  assert.equal(await rds('stop-db-instance', '--db-instance-identifier', 'app', '--query', 'DBInstance.DBInstanceStatus'), 'stopping');
  db.settle();
  assert.equal(await rds('start-db-instance', '--db-instance-identifier', 'app', '--query', 'DBInstance.DBInstanceStatus'), 'starting');
  db.settle();
  assert.equal(await rds('reboot-db-instance', '--db-instance-identifier', 'app', '--query', 'DBInstance.DBInstanceStatus'), 'rebooting');
  db.settle();
  const arn = 'arn:aws:rds:us-east-1:111122223333:db:app';
  await rds('add-tags-to-resource', '--resource-name', arn, '--tags', 'Key=owner,Value=ops');
  assert.equal(await rds('list-tags-for-resource', '--resource-name', arn, '--query', 'TagList[].Key'), 'team\tenv\towner');
  await rds('remove-tags-from-resource', '--resource-name', arn, '--tag-keys', 'env', 'team');
  assert.equal(await rds('list-tags-for-resource', '--resource-name', arn, '--query', 'TagList[].[Key,Value]'), 'owner\tops');
  assert.equal(await rds('describe-db-engine-versions', '--engine', 'postgres', '--default-only', '--query', 'DBEngineVersions[].[EngineVersion,DBParameterGroupFamily]'), '17.2\tpostgres17');
  await rds('modify-db-instance', '--db-instance-identifier', 'app', '--no-deletion-protection');
  assert.equal(await rds('delete-db-instance', '--db-instance-identifier', 'app', '--skip-final-snapshot', '--query', 'DBInstance.DBInstanceStatus'), 'deleting');
  db.settle();
  const gone = await awsCli('rds', s.url, ['describe-db-instances', '--db-instance-identifier', 'app']);
  assert.notEqual(gone.status, 0);
  assert.match(gone.err, /An error occurred \(DBInstanceNotFound\) when calling the DescribeDBInstances operation: DBInstance app not found\./);
});

test('aws rds: bad input is answered in RDS shape (the CLI shows the code and message)', { skip }, async () => {
  const bad = await awsCli('rds', s.url, ['create-db-instance', '--db-instance-identifier', 'bad--name', '--engine', 'postgres', '--db-instance-class', 'db.t3.micro',
    '--allocated-storage', '20', '--master-username', 'app', '--manage-master-user-password']);
  assert.notEqual(bad.status, 0);
  assert.match(bad.err, /\(InvalidParameterValue\) when calling the CreateDBInstance operation: The parameter DBInstanceIdentifier is not a valid identifier\./);
  const both = await awsCli('rds', s.url, ['create-db-instance', '--db-instance-identifier', 'both', '--engine', 'postgres', '--db-instance-class', 'db.t3.micro',
    '--allocated-storage', '20', '--master-username', 'app', '--manage-master-user-password', '--master-user-password', 'Cli-Secret-Canary-1']);
  assert.match(both.err, /\(InvalidParameterCombination\) when calling the CreateDBInstance operation: You can't specify MasterUserPassword when ManageMasterUserPassword is turned on\./);
  assert.ok(!both.err.includes('Cli-Secret-Canary-1'));
  await assert.rejects(db.get('both'), (e: Error) => e.name === 'DBInstanceNotFound');
});
