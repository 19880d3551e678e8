// Issue 13 "Must show: Bad input": unknown Action, wrong Version, malformed form bodies, invalid
// identifiers and parameter combinations get RDS-shaped XML errors (ErrorResponse/Error/Type,Code,
// Message + RequestId, namespace http://rds.amazonaws.com/doc/2014-10-31/) with the fault's status,
// and nothing is created. Also: IAM (rds:* actions in identity policies) and the audit trail
// (one rds.amazonaws.com event per call, MasterUserPassword never recorded).
// Codes and statuses: botocore/data/rds/2014-10-31/service-2.json `error` traits and the RDS API
// Reference "Common Errors" (InvalidAction 400, MissingAction 400, MalformedQueryString 404,
// InvalidClientTokenId 403, SignatureDoesNotMatch 403, MissingParameter 400).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as R from '@aws-sdk/client-rds';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { createForm, rdsClient, rdsRaw } from './helpers/rds.ts';
import { allow, getSessionToken, makeUser } from './helpers/sts.ts';
import { InMemoryDbServiceForTests } from '../src/rds/testing.ts';

let s: TestServer;
let db: InMemoryDbServiceForTests;
let rds: R.RDSClient;
before(async () => {
  db = new InMemoryDbServiceForTests({ accountId: '111122223333', instant: true, usableKeys: ['alias/app'] });
  s = await startTestServer({ db });
  rds = rdsClient(s);
});
after(async () => { await s.cleanup(); });

const NS = 'xmlns="http://rds.amazonaws.com/doc/2014-10-31/"';

async function count(): Promise<number> {
  return (await db.list({ limit: 1000 })).instances.length;
}

async function expectRaw(body: string, status: number, code: string, message: string | RegExp, o: Parameters<typeof rdsRaw>[2] = {}): Promise<void> {
  const before = await count();
  const r = await rdsRaw(s, body, o);
  assert.equal(r.status, status, r.text);
  assert.equal(r.code, code, r.text);
  if (typeof message === 'string') assert.equal(r.message, message);
  else assert.match(r.message ?? '', message);
  assert.ok(r.text.startsWith(`<ErrorResponse ${NS}><Error><Type>Sender</Type><Code>`), r.text);
  assert.match(r.requestId ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(await count(), before, 'nothing was created');
}

test('unknown Action, wrong or missing Version, missing Action -> InvalidAction / MissingAction', async () => {
  await expectRaw('Action=DescribeDBClusters&Version=2014-10-31', 400, 'InvalidAction', 'Could not find operation DescribeDBClusters for version 2014-10-31');
  await expectRaw('Action=constructor&Version=2014-10-31', 400, 'InvalidAction', 'Could not find operation constructor for version 2014-10-31');
  await expectRaw(createForm('wrongversion', { Version: '2013-05-15' }), 400, 'InvalidAction', 'Could not find operation CreateDBInstance for version 2013-05-15');
  await expectRaw('Action=DescribeDBInstances', 400, 'InvalidAction', 'Could not find operation DescribeDBInstances for version ');
  await expectRaw('Version=2014-10-31', 400, 'MissingAction', 'The request must contain the parameter Action.');
});

test('malformed form bodies -> MalformedQueryString (404, as AWS)', async () => {
  await expectRaw(createForm('pct') + '&DBName=%zz', 404, 'MalformedQueryString', 'The request body is not valid application/x-www-form-urlencoded data (bad percent-encoding).');
  await expectRaw(createForm('dup') + '&Engine=postgres', 404, 'MalformedQueryString', 'The parameter Engine appears more than once.');
  await expectRaw(createForm('badlist', { 'Tags.Bogus.1.Key': 'k' }), 404, 'MalformedQueryString', 'Unexpected parameter Tags.Bogus.1.Key.');
  await expectRaw(createForm('badindex', { 'Tags.Tag.0.Key': 'k' }), 404, 'MalformedQueryString', 'The list index in Tags.Tag.0.Key must be between 1 and 1000.');
  await expectRaw(createForm('noname') + '&=x', 404, 'MalformedQueryString', 'The request body contains a parameter without a name.');
  // larger than the body limit: refused before the handler, still in RDS's shape
  await expectRaw(createForm('huge', { DBName: 'x'.repeat(2_000_000) }), 413, 'RequestEntityTooLargeException', /^Request body exceeds the maximum of \d+ bytes\.$/);
});

test('invalid identifiers and values -> InvalidParameterValue / MissingParameter, nothing created', async () => {
  const bad = `The parameter DBInstanceIdentifier is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`;
  for (const id of ['1app', 'app-', 'a--b', 'app_db', 'a'.repeat(64), 'app.db', 'ápp']) await expectRaw(createForm(id), 400, 'InvalidParameterValue', bad);
  await expectRaw('Action=CreateDBInstance&Version=2014-10-31&Engine=postgres&DBInstanceClass=db.t3.micro', 400, 'MissingParameter', 'The request must contain the parameter DBInstanceIdentifier');
  await expectRaw(createForm('eng', { Engine: 'oracle-ee' }), 400, 'InvalidParameterValue', 'Invalid DB engine: oracle-ee. rekey supports: postgres, mariadb.');
  await expectRaw(createForm('small', { AllocatedStorage: '5' }), 400, 'InvalidParameterValue', 'Invalid storage size for engine name postgres and storage type gp2: 5');
  await expectRaw(createForm('big', { AllocatedStorage: '70000' }), 400, 'InvalidParameterValue', 'Invalid storage size for engine name postgres and storage type gp2: 70000');
  await expectRaw(createForm('nostore', { AllocatedStorage: 'twenty' }), 400, 'InvalidParameterValue', 'Invalid value for parameter AllocatedStorage: it must be an integer.');
  await expectRaw(createForm('cls', { DBInstanceClass: 'large' }), 400, 'InvalidParameterValue', 'Invalid DB Instance class: large');
  await expectRaw(createForm('usr', { MasterUsername: 'postgres' }), 400, 'InvalidParameterValue', 'MasterUsername postgres cannot be used as it is a reserved word used by the engine');
  await expectRaw(createForm('usr2', { MasterUsername: '9lives' }), 400, 'InvalidParameterValue', /^The parameter MasterUsername is not a valid identifier\./);
  await expectRaw(createForm('bool', { StorageEncrypted: 'yes' }), 400, 'InvalidParameterValue', 'Invalid boolean value for parameter StorageEncrypted: it must be true or false.');
  await expectRaw(createForm('prt', { Port: '80' }), 400, 'InvalidParameterValue', 'Invalid port 80: the port must be between 1150 and 65535.');
});

test('passwords: RDS rules and combinations; the password is never echoed', async () => {
  const noManage = { ManageMasterUserPassword: 'false' };
  await expectRaw(createForm('pw1', { ...noManage, MasterUserPassword: 'has space1' }), 400, 'InvalidParameterValue',
    `The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '"', ' ' may be used.`);
  await expectRaw(createForm('pw2', { ...noManage, MasterUserPassword: 'a@bcdefgh' }), 400, 'InvalidParameterValue', /^The parameter MasterUserPassword is not a valid password\. Only printable/);
  await expectRaw(createForm('pw3', { ...noManage, MasterUserPassword: 'short' }), 400, 'InvalidParameterValue', 'The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.');
  await expectRaw(createForm('pw4', { ...noManage, MasterUserPassword: 'x'.repeat(129) }), 400, 'InvalidParameterValue', 'The parameter MasterUserPassword is not a valid password because it is longer than 128 characters.');
  await expectRaw(createForm('pw5', noManage), 400, 'InvalidParameterValue', 'The parameter MasterUserPassword must be provided and must not be blank.');
  await expectRaw(createForm('kms', { KmsKeyId: 'alias/app' }), 400, 'InvalidParameterCombination', 'You can\'t specify KmsKeyId unless StorageEncrypted is true.');
  await expectRaw(createForm('maz', { MultiAZ: 'true' }), 400, 'InvalidParameterCombination', 'rekey does not support Multi-AZ instances (MultiAZ=true).');
  // the real SDK: its error name is the Code
  await assert.rejects(rds.send(new R.CreateDBInstanceCommand({
    DBInstanceIdentifier: 'both', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app',
    MasterUserPassword: 'Sup3r-Secret-Canary', ManageMasterUserPassword: true,
  })), (e: Error) => {
    assert.equal(e.name, 'InvalidParameterCombination');
    assert.equal(e.message, 'You can\'t specify MasterUserPassword when ManageMasterUserPassword is turned on.');
    return true;
  });
  await assert.rejects(rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: 'bad--id' })), (e: Error) => {
    assert.equal(e.name, 'InvalidParameterValue');
    assert.match(e.message, /^The parameter DBInstanceIdentifier is not a valid identifier\./);
    return true;
  });
  assert.equal(await count(), 0);
});

test('authentication errors in the RDS Query shape', async () => {
  await expectRaw(createForm('anon'), 403, 'InvalidClientTokenId', /.+/, { creds: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x'.repeat(40) } });
  const wrong = { accessKeyId: 'AKIAREKEYTEST0000001', secretAccessKey: 'not-the-secret-access-key-000000000000000' };
  await expectRaw(createForm('forged'), 403, 'SignatureDoesNotMatch', /.+/, { creds: wrong });
  // unsigned: RDS's shape (Version=2014-10-31), not STS's
  await expectRaw(createForm('unsigned'), 403, 'MissingAuthenticationToken', /.+/, { sign: false });
  // signed for another service with RDS's Version: STS keeps it (and answers in its namespace)
  const sts = await rdsRaw(s, createForm('sts-scoped'), { service: 'sts' });
  assert.match(sts.text, /xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/"/);
  assert.equal(sts.code, 'InvalidAction');
});

test('IAM: without rds:CreateDBInstance -> AccessDenied 403 and nothing created; rds:* in a policy allows', async () => {
  const reader = await makeUser(s.iam, 'rds-reader', allow('rds:DescribeDBInstances'));
  const c = rdsClient(s, reader.creds);
  await assert.rejects(c.send(new R.CreateDBInstanceCommand({
    DBInstanceIdentifier: 'denied', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app', ManageMasterUserPassword: true,
  })), (e: Error & { $metadata: { httpStatusCode?: number } }) => {
    assert.equal(e.name, 'AccessDenied');
    assert.equal(e.message, `User: ${reader.arn} is not authorized to perform: rds:CreateDBInstance on resource: arn:aws:rds:us-east-1:111122223333:db:denied because no identity-based policy allows the rds:CreateDBInstance action`);
    assert.equal(e.$metadata.httpStatusCode, 403);
    return true;
  });
  assert.equal(await count(), 0);
  assert.deepEqual((await c.send(new R.DescribeDBInstancesCommand({}))).DBInstances, []);
  await assert.rejects(c.send(new R.DescribeDBEngineVersionsCommand({})), (e: Error) => e.name === 'AccessDenied' && /rds:DescribeDBEngineVersions on resource: \*/.test(e.message));
  const ops = await makeUser(s.iam, 'rds-ops', allow('rds:*'));
  const o = rdsClient(s, ops.creds);
  const made = await o.send(new R.CreateDBInstanceCommand({
    DBInstanceIdentifier: 'allowed', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app', ManageMasterUserPassword: true,
  }));
  assert.equal(made.DBInstance!.DBInstanceStatus, 'available'); // the double is instant here
  // a policy on one instance only
  const one = await makeUser(s.iam, 'rds-one', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'rds:RebootDBInstance', Resource: 'arn:aws:rds:us-east-1:111122223333:db:allowed' }] });
  assert.equal((await rdsClient(s, one.creds).send(new R.RebootDBInstanceCommand({ DBInstanceIdentifier: 'allowed' }))).DBInstance!.DBInstanceIdentifier, 'allowed');
  await assert.rejects(rdsClient(s, one.creds).send(new R.StopDBInstanceCommand({ DBInstanceIdentifier: 'allowed' })), (e: Error) => e.name === 'AccessDenied');
  await o.send(new R.DeleteDBInstanceCommand({ DBInstanceIdentifier: 'allowed', SkipFinalSnapshot: true }));
});

test('audit: one rds.amazonaws.com event per call; MasterUserPassword never recorded, not even in errors', async () => {
  const canary = 'Canary-Pw-7f3a9c21e5';
  await rds.send(new R.CreateDBInstanceCommand({
    DBInstanceIdentifier: 'audited', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app', MasterUserPassword: canary,
  }));
  await rds.send(new R.ModifyDBInstanceCommand({ DBInstanceIdentifier: 'audited', MasterUserPassword: canary + 'x', ApplyImmediately: true }));
  await rdsRaw(s, createForm('audited2', { ManageMasterUserPassword: 'false', MasterUserPassword: canary + ' space' }));
  await rdsRaw(s, createForm('audited3', { MasterUserPassword: canary }));
  await rdsRaw(s, createForm('audited4', { ManageMasterUserPassword: 'false', MasterUserPassword: canary, 'Tags.Bogus.1.Key': 'x' }));
  const events = (await s.audit.lookup({ maxResults: 1000 })).events.map((e) => e.event);
  const all = JSON.stringify(events);
  assert.ok(!all.includes('Canary-Pw'), 'the password reached the audit trail');
  const created = events.filter((e) => e.eventSource === 'rds.amazonaws.com' && e.eventName === 'CreateDBInstance' && !e.errorCode);
  const mine = created.find((e) => (e.requestParameters as Record<string, unknown> | null)?.dBInstanceIdentifier === 'audited');
  assert.ok(mine, 'CreateDBInstance event');
  assert.equal(mine.readOnly, false);
  assert.deepEqual(mine.resources, [{ accountId: '111122223333', type: 'AWS::RDS::DBInstance', ARN: 'arn:aws:rds:us-east-1:111122223333:db:audited' }]);
  // recorded at the audit gate, before the commit: the instance as it is about to be written
  assert.equal((mine.responseElements as { dBInstance: { dBInstanceStatus: string } }).dBInstance.dBInstanceStatus, 'creating');
  assert.ok(!('masterUserPassword' in (mine.requestParameters ?? {})));
  const failed = events.filter((e) => e.eventSource === 'rds.amazonaws.com' && e.errorCode);
  assert.ok(failed.some((e) => e.errorCode === 'InvalidParameterValue'));
  assert.ok(failed.some((e) => e.errorCode === 'InvalidParameterCombination'));
  assert.ok(failed.some((e) => e.errorCode === 'MalformedQueryString'));
  assert.ok(events.some((e) => e.eventSource === 'rds.amazonaws.com' && e.errorCode === 'AccessDenied' && e.eventName === 'CreateDBInstance'));
  // the gate: a mutating call offered its event before its first write
  assert.ok(db.calls.every((c) => typeof c.ctx.beforeCommit === 'function'));
});

test('a KMS key the database component refuses -> KMSKeyNotAccessibleFault in RDS shape, nothing created', async () => {
  // the check itself is src/db's (DbService); the double refuses keys it was not given
  await expectRaw(createForm('nokey', { StorageEncrypted: 'true', KmsKeyId: 'alias/not-mine' }), 400, 'KMSKeyNotAccessibleFault',
    'The specified KMS key [alias/not-mine] does not exist, is not enabled or you do not have permissions to access it.');
  await assert.rejects(rds.send(new R.CreateDBInstanceCommand({
    DBInstanceIdentifier: 'nokey', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app', ManageMasterUserPassword: true,
    StorageEncrypted: true, KmsKeyId: 'alias/not-mine',
  })), (e: Error) => e.name === 'KMSKeyNotAccessibleFault' && /alias\/not-mine/.test(e.message));
  await assert.rejects(db.get('nokey'), (e: Error) => e.name === 'DBInstanceNotFound');
});

test('temporary credentials (STS GetSessionToken) work with the RDS client; policies of the user apply', async () => {
  const u = await makeUser(s.iam, 'rds-session', allow('rds:DescribeDBEngineVersions'));
  const session = await getSessionToken(s.url, u.creds);
  const c = rdsClient(s, session);
  assert.ok((await c.send(new R.DescribeDBEngineVersionsCommand({}))).DBEngineVersions!.length > 0);
  await assert.rejects(c.send(new R.DescribeDBInstancesCommand({})), (e: Error) => e.name === 'AccessDenied' && /rds:DescribeDBInstances on resource: \*/.test(e.message));
  const noToken = rdsClient(s, { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey });
  await assert.rejects(noToken.send(new R.DescribeDBEngineVersionsCommand({})), (e: Error) => e.name === 'InvalidClientTokenId');
});
