// Issue 13's must-show, end to end through the AWS CLI and the real database component: an
// encrypted PostgreSQL instance created with `aws rds create-db-instance ... --manage-master-user-password
// --storage-encrypted --kms-key-id alias/app`, described until available, reached with psql at its
// Endpoint with the password from its master secret; a canary row is on disk nowhere in plaintext;
// a disabled key makes a reboot end in inaccessible-encryption-credentials, and EnableKey +
// start-db-instance bring it back with its data. Then the SDK sees the same instance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CreateAliasCommand, CreateKeyCommand, EnableKeyCommand } from '@aws-sdk/client-kms';
import { RDSClient, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { grepFiles } from './helpers/db-node.ts';
import { startTestServer, TEST_CREDS } from './helpers/server.ts';
import { awsCli, hasAwsCli } from './helpers/aws-cli.ts';

const CI = process.env.CI === 'true';


/** psql with the password in the environment (never on the command line); resolves with its output. */
function psql(host: string, port: number, password: string, sql: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', String(port), '-U', 'app', '-d', 'appdb', '-c', sql], {
    env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' }, timeout: 60_000,
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  child.stdin.on('error', () => {});
  child.stdin.end();
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out: out.trim(), err: err.trim() })));
}

test('aws rds create-db-instance (encrypted, managed master secret) -> available -> psql -> canary not on disk -> key disabled -> recovered', {
  timeout: 400_000, skip: !hasAwsCli && !CI ? 'the AWS CLI is not installed' : false,
}, async (t) => {
  const s = await startTestServer();
  t.after(() => s.cleanup());
  const kms = s.kmsClient();
  const key = await kms.send(new CreateKeyCommand({ Description: 'app db' }));
  const keyId = key.KeyMetadata!.KeyId!;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/app', TargetKeyId: keyId }));

  const create = await awsCli('rds', s.url, ['create-db-instance', '--db-instance-identifier', 'app', '--engine', 'postgres',
    '--db-instance-class', 'db.t3.micro', '--allocated-storage', '20', '--master-username', 'app', '--manage-master-user-password',
    '--storage-encrypted', '--kms-key-id', 'alias/app', '--db-name', 'appdb', '--query', 'DBInstance.[DBInstanceStatus,StorageEncrypted]']);
  assert.equal(create.status, 0, create.err);
  assert.equal(create.out, 'creating\tTrue');

  const describe = async (): Promise<{ status: string; address: string; port: number; secretArn: string; kmsKeyId: string }> => {
    const r = await awsCli('rds', s.url, ['describe-db-instances', '--db-instance-identifier', 'app', '--query',
      'DBInstances[0].[DBInstanceStatus,Endpoint.Address,Endpoint.Port,MasterUserSecret.SecretArn,KmsKeyId]']);
    assert.equal(r.status, 0, r.err);
    const [status, address, port, secretArn, kmsKeyId] = r.out.split('\t');
    return { status: status!, address: address!, port: Number(port), secretArn: secretArn!, kmsKeyId: kmsKeyId! };
  };
  const waitFor = async (want: string, ms = 180_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const d = await describe();
      if (d.status === want) return d;
      if (Date.now() > end) throw new Error(`instance is ${d.status}, not ${want}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const inst = await waitFor('available');
  assert.equal(inst.kmsKeyId, key.KeyMetadata!.Arn, 'RDS reports the key ARN whatever form was given');
  assert.match(inst.secretArn, /:secret:rds!db-[0-9a-f-]{36}-[A-Za-z0-9]{6}$/);

  const secret = await awsCli('secretsmanager', s.url, ['get-secret-value', '--secret-id', inst.secretArn, '--query', 'SecretString']);
  assert.equal(secret.status, 0, secret.err);
  const { username, password } = JSON.parse(secret.out) as { username: string; password: string };
  assert.equal(username, 'app');

  const canary = `canary-${Date.now()}-rds-e2e`;
  const w = await psql(inst.address, inst.port, password, `CREATE TABLE notes (body text); INSERT INTO notes SELECT '${canary}' || g FROM generate_series(1, 100) g; CHECKPOINT; SELECT count(*) FROM notes`);
  assert.equal(w.code, 0, w.err);
  assert.match(w.out, /100$/);
  const wrong = await psql(inst.address, inst.port, 'not-the-password', 'SELECT 1');
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.err, /password authentication failed for user "app"/);

  // the canary: nowhere in plaintext under rekey's data dir (volumes included), except through the mount
  const resourceId = (await s.db.service.get('app')).resourceId;
  const paths = s.db.core.runtime.paths({ resourceId, storageEncrypted: true });
  assert.deepEqual(grepFiles(s.dataDir, Buffer.from(canary), (p) => p === paths.mountDir), []);
  assert.ok(grepFiles(paths.mountDir, Buffer.from(canary), () => false).length > 0, 'the canary is there through the mount (the grep can fail)');

  // DisableKey forced past the dependency guard, then a reboot: the volume cannot be unlocked
  await s.kms.lifecycle.admin().disableKey(keyId, true);
  const reboot = await awsCli('rds', s.url, ['reboot-db-instance', '--db-instance-identifier', 'app', '--query', 'DBInstance.DBInstanceStatus']);
  assert.equal(reboot.status, 0, reboot.err);
  await waitFor('inaccessible-encryption-credentials');
  assert.notEqual((await psql(inst.address, inst.port, password, 'SELECT 1')).code, 0);

  await kms.send(new EnableKeyCommand({ KeyId: keyId }));
  const start = await awsCli('rds', s.url, ['start-db-instance', '--db-instance-identifier', 'app', '--query', 'DBInstance.DBInstanceStatus']);
  assert.equal(start.status, 0, start.err);
  const back = await waitFor('available');
  assert.equal(back.address, inst.address, 'the endpoint is the same for the instance\'s life');
  assert.equal(back.port, inst.port);
  const r = await psql(back.address, back.port, password, `SELECT count(*) FROM notes WHERE body LIKE '${canary}%'`);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, '100', 'data intact after the key came back');

  // the SDK sees the same instance
  const rds = new RDSClient({ endpoint: s.url, region: 'us-east-1', credentials: TEST_CREDS });
  const sdk = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'app' }));
  assert.equal(sdk.DBInstances?.[0]?.StorageEncrypted, true);
  assert.equal(sdk.DBInstances?.[0]?.Endpoint?.Port, inst.port);

  const del = await awsCli('rds', s.url, ['delete-db-instance', '--db-instance-identifier', 'app', '--skip-final-snapshot', '--query', 'DBInstance.DBInstanceStatus']);
  assert.equal(del.status, 0, del.err);
  assert.equal(del.out, 'deleting');
  const end = Date.now() + 120_000;
  for (;;) {
    const d = await awsCli('rds', s.url, ['describe-db-instances', '--db-instance-identifier', 'app']);
    if (d.status !== 0) {
      assert.match(d.err, /DBInstanceNotFound/);
      break;
    }
    if (Date.now() > end) throw new Error('instance not deleted');
    await new Promise((res) => setTimeout(res, 250));
  }
});
