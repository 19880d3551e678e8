// RDS instances with Engine=mariadb (issue 15, docs/DATABASES.md and docs/MARIADB.md "RDS mariadb
// instances"), through @aws-sdk/client-rds against a test rekey server: the OS's mariadbd run as the
// `mysql` OS user on a gocryptfs volume under a KMS key, with the hashicorp_key_management plugin
// reading the instance's keys from rekey's own keyserve with a token rekey issued for the instance.
// - DescribeDBEngineVersions lists the OS's mariadbd version;
// - the master secret (ManageMasterUserPassword) logs in through the stable Endpoint (mysql2);
// - a canary in an InnoDB table is nowhere in plaintext: not in the volume's cipher directory, nor in
//   the InnoDB files seen through the mounted volume (the plugin's encryption), while a CSV table's
//   control string (never encrypted by MariaDB) is visible through the mount;
// - RotateKeyOnDemand -> DescribeDBInstances' "key rotation" StatusInfo (and `rekey db show`) reaches
//   0 tablespaces below the new key version (3; a second rotation after a restart: 5);
// - the managed master secret rotates (mysql-single-user) through the Endpoint;
// - snapshots and read replicas are refused (InvalidParameterCombination);
// - the KMS key disabled -> the instance's token reads nothing, the running mariadbd aborts, rekey
//   does not restart it without keys (inaccessible-encryption-credentials), a start is refused the
//   same way; enabled -> it starts with its data and its accounts; deleted -> keyring gone.
// Skips only where mariadbd, the plugin or gocryptfs is missing, never under CI=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { CreateKeyCommand, EnableKeyCommand, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import {
  CreateDBInstanceCommand, CreateDBInstanceReadReplicaCommand, CreateDBSnapshotCommand, DeleteDBInstanceCommand, DescribeDBEngineVersionsCommand,
  DescribeDBInstancesCommand, ModifyDBInstanceCommand, StartDBInstanceCommand, StopDBInstanceCommand, type DBInstance,
} from '@aws-sdk/client-rds';
import { DescribeSecretCommand, GetSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { grepFiles, until } from './helpers/db-node.ts';
import { mariaDbMissing } from './helpers/mariadb-server.ts';
import { createEncryptedMariadb, instanceWatch, rdsClient } from './helpers/rds.ts';
import { startTestServer, TEST_CREDS } from './helpers/server.ts';
import { rekeyCli } from './helpers/rekey-cli.ts';
import { findVolumeTools } from '../src/db/volume.ts';
import { adminCall } from '../src/cli/admin-client.ts';
import type { InstanceRecord } from '../src/db/model.ts';

const missing = mariaDbMissing() || (typeof findVolumeTools() === 'string' ? 'gocryptfs' : false);
if (missing && process.env['CI'] === 'true') throw new Error(`${missing}: CI=true does not skip the MariaDB tests`);

const CANARY = 'rekey-rds-canary-' + 'Qm4'.repeat(8);
const CONTROL = 'rekey-rds-control-' + 'Jv8'.repeat(8);

test('an encrypted mariadb instance through the RDS API: endpoint, master secret, canary, key rotation progress, disabled key, refusals', { skip: missing || false, timeout: 600_000 }, async (t) => {
  const s = await startTestServer();
  t.after(() => s.cleanup());
  const rds = rdsClient(s);
  const kms = s.kmsClient();
  const keyId = (await kms.send(new CreateKeyCommand({ Description: 'shop db' }))).KeyMetadata!.KeyId!;
  const admin = { endpoint: new URL(s.url), region: 'us-east-1', credentials: TEST_CREDS };

  // the OS's mariadbd version
  const osVersion = /Ver (\d+\.\d+\.\d+)-MariaDB/.exec(execFileSync('/usr/sbin/mariadbd', ['--version'], { encoding: 'utf8' }))![1]!;
  const versions = await rds.send(new DescribeDBEngineVersionsCommand({ Engine: 'mariadb' }));
  assert.deepEqual(versions.DBEngineVersions?.map((v) => [v.Engine, v.EngineVersion]), [['mariadb', osVersion]]);

  const started = Date.now();
  await createEncryptedMariadb(rds, 'shop', keyId, 'shop');
  const { describe, waitFor } = instanceWatch(rds, 'shop');
  const inst = await waitFor('available');
  const createdMs = Date.now() - started;
  assert.equal(inst.Engine, 'mariadb');
  assert.equal(inst.EngineVersion, osVersion);
  assert.equal(inst.StorageEncrypted, true);
  assert.ok(inst.Endpoint?.Port && inst.MasterUserSecret?.SecretArn);
  const rotation = (i: DBInstance) => i.StatusInfos?.find((x) => x.StatusType === 'key rotation');
  const before = rotation(inst);
  assert.match(before?.Message ?? '', /^0 of \d+ InnoDB tablespaces below key version 1$/);
  assert.equal(before?.Status, 'complete');

  // the master secret logs in through the Endpoint
  const secret = JSON.parse((await s.secretsClient().send(new GetSecretValueCommand({ SecretId: inst.MasterUserSecret.SecretArn }))).SecretString!);
  assert.equal(secret.engine, 'mariadb');
  const connect = (password: string = secret.password) => mysql.createConnection({ host: inst.Endpoint!.Address, port: inst.Endpoint!.Port, user: 'app', password, database: 'shop' });
  await assert.rejects(connect('wrong-password'), /Access denied/);
  const c = await connect();
  const [vars] = await c.query(`SELECT @@innodb_encrypt_tables AS t, @@innodb_encrypt_log AS l, @@encrypt_binlog AS b, @@encrypt_tmp_files AS f, @@aria_encrypt_tables AS a,
    (SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'hashicorp_key_management') AS plugin, CURRENT_USER() AS me`) as [Record<string, unknown>[], unknown];
  assert.deepEqual(vars[0], { t: 'FORCE', l: 1, b: 1, f: 1, a: 1, plugin: 'ACTIVE', me: 'app@%' });
  // nobody else logs in: install-db's passwordless root accounts are gone
  await assert.rejects(mysql.createConnection({ host: inst.Endpoint!.Address, port: inst.Endpoint!.Port, user: 'root' }), /Access denied/);
  await c.query('CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(200) NOT NULL) ENGINE=InnoDB');
  await c.query('CREATE TABLE plain (v VARCHAR(200) NOT NULL) ENGINE=CSV');
  await c.query('INSERT INTO t (v) VALUES (?)', [CANARY]);
  await c.query('INSERT INTO plain (v) VALUES (?)', [CONTROL]);
  const [rows] = await c.query('SELECT v FROM t') as [{ v: string }[], unknown];
  assert.equal(rows[0]!.v, CANARY);
  // rotation (the periodic key check restarts InnoDB's encryption threads if they stall):
  //  every tablespace moves to the new key version; progress in
  //  DescribeDBInstances and `rekey db show`
  await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
  const rotateStart = Date.now();
  let writes = 0;
  let sawProgress = false;
  // the plugin's cache timeouts count mariadbd's CPU time (docs/MARIADB.md): a client keeps it busy;
  // the periodic key check (every 60 s; here every 2 s) restarts InnoDB's encryption threads if they stall
  let checked = Date.now();
  let nudges = 0;
  const keys = s.db.core.mariadbKeys!;
  const nudge = keys.nudgeIfStuck.bind(keys);
  keys.nudgeIfStuck = async (...args) => (await nudge(...args)) ? (nudges++, true) : false;
  const done = await until('every tablespace on key version 3', async () => {
    await c.query('INSERT INTO t (v) SELECT CONCAT(\'row-\', seq) FROM seq_1_to_200');
    writes++;
    if (Date.now() - checked > 2000) {
      checked = Date.now();
      await s.db.checkKeys();
    }
    const info = rotation(await describe());
    const m = /^(\d+) of (\d+) InnoDB tablespaces below key version (\d+)$/.exec(info?.Message ?? '');
    if (m && m[3] === '3' && m[1] !== '0') sawProgress = true;
    return m && m[3] === '3' && m[1] === '0' ? info : undefined;
  }, 180_000, 100);
  const rotateMs = Date.now() - rotateStart;
  assert.equal(done.Status, 'complete');
  const cli = await rekeyCli(['db', 'show', 'shop', '--endpoint', s.url]);
  assert.equal(cli.status, 0, cli.err);
  // then the key versions served (nothing retired before a restart: docs/MARIADB.md "Retiring old versions")
  assert.match(cli.out, /^shop: mariadb .*, available, .*\nkey rotation: complete: 0 of \d+ InnoDB tablespaces below key version 3\nkey 1 versions: served 1, 3\n(  kept: .*\n)+key 2 versions: served 1, 3\n(  kept: .*\n)+$/);
  const [enc] = await c.query('SELECT MIN(MIN_KEY_VERSION) AS lo FROM information_schema.INNODB_TABLESPACES_ENCRYPTION') as [{ lo: number }[], unknown];
  assert.equal(Number(enc[0]!.lo), 3);
  await c.query('FLUSH TABLES t FOR EXPORT'); // the pages written out
  await c.query('UNLOCK TABLES');
  await c.query('FLUSH BINARY LOGS');

  const rec = (await s.barrier.getJSON<InstanceRecord>('db/instances/shop'))!.value;
  const paths = s.db.core.runtime.paths(rec);
  // on disk: nothing in plaintext (rekey's data directory with the volume's cipher directory, the mount excluded)
  const skipMount = (p: string) => p === paths.mountDir;
  assert.deepEqual(grepFiles(s.dataDir, Buffer.from(CANARY), skipMount), []);
  assert.deepEqual(grepFiles(s.dataDir, Buffer.from(CONTROL), skipMount), []);
  // through the mounted volume: the CSV control is there (the grep sees table data), the InnoDB canary is not (the plugin's keys)
  assert.ok(grepFiles(paths.mountDir, Buffer.from(CONTROL), () => false).some((p) => p.endsWith('plain.CSV')));
  assert.deepEqual(grepFiles(paths.mountDir, Buffer.from(CANARY), () => false), []);
  // the server runs as the mysql OS user (rekey as root; else as rekey's own user)
  const pid = Number(readFileSync(`${paths.runDir}/mariadbd.pid`, 'utf8').trim());
  const { userInfo } = await import('node:os');
  assert.equal(execFileSync('ps', ['-o', 'user=', '-p', String(pid)], { encoding: 'utf8' }).trim(), process.getuid?.() === 0 ? 'mysql' : userInfo().username);

  await c.end();

  // the managed master secret rotates with the built-in mysql-single-user strategy, through the Endpoint
  const sm = s.secretsClient();
  const described = await sm.send(new DescribeSecretCommand({ SecretId: inst.MasterUserSecret.SecretArn }));
  assert.match(described.RotationLambdaARN ?? '', /function:rekey-mysql-single-user$/);
  const rotated = await sm.send(new RotateSecretCommand({ SecretId: inst.MasterUserSecret.SecretArn }));
  await until('the master secret rotated', async () => (await sm.send(new DescribeSecretCommand({ SecretId: inst.MasterUserSecret!.SecretArn }))).VersionIdsToStages?.[rotated.VersionId!]?.includes('AWSCURRENT'), 60_000, 200);
  const oldPassword = secret.password;
  secret.password = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: inst.MasterUserSecret.SecretArn }))).SecretString!).password;
  assert.notEqual(secret.password, oldPassword);
  await assert.rejects(connect(oldPassword), /Access denied/);
  await (await connect()).end();

  // refused for mariadb: snapshots, read replicas
  await assert.rejects(rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'shop', DBSnapshotIdentifier: 'snap' })),
    (e: Error) => e.name === 'InvalidParameterCombination' && /CreateDBSnapshot is not supported for engine mariadb/.test(e.message));
  await assert.rejects(rds.send(new CreateDBInstanceReadReplicaCommand({ DBInstanceIdentifier: 'shop-r', SourceDBInstanceIdentifier: 'shop' })),
    (e: Error) => e.name === 'InvalidParameterCombination' && /CreateDBInstanceReadReplica is not supported for engine mariadb/.test(e.message));
  await assert.rejects(rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'shop', FinalDBSnapshotIdentifier: 'final' })),
    (e: Error) => e.name === 'InvalidParameterCombination' && /A final snapshot \(DeleteDBInstance without SkipFinalSnapshot\) is not supported for engine mariadb/.test(e.message));
  const other = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  await assert.rejects(adminCall(admin, { method: 'POST', path: '/v1/db/instances/shop/change-key', body: { kmsKeyId: other } }),
    (e: Error) => e.name === 'InvalidParameterCombination' && /change-key is not supported for engine mariadb/.test(e.message));
  assert.equal((await describe()).DBInstanceStatus, 'available', 'the refusals changed nothing');

  // the KMS key disabled (forced past the dependents guard): the instance's token reads nothing, a reboot cannot start it
  await s.kms.lifecycle.admin().disableKey(keyId, true);
  const keyRead = await fetch(`${s.url}/v1/mariadb/${rec.mariadbKeys!.keyring}/data/1`, { headers: { 'x-vault-token': rec.mariadbKeys!.token } });
  assert.equal(keyRead.status, 403);
  assert.match(await keyRead.text(), /DisabledException/);
  // the running server goes on from its key cache until the plugin must ask for the latest version
  // again (after 1 s of its CPU time), gets 403 and aborts (docs/MARIADB.md); rekey cannot restart it
  const writer = await connect();
  const disabledAt = Date.now();
  await until('mariadbd aborted without its keys', async () => {
    try {
      await writer.query('INSERT INTO t (v) SELECT CONCAT(\'late-\', seq) FROM seq_1_to_500');
      await writer.query('FLUSH TABLES t FOR EXPORT');
      await writer.query('UNLOCK TABLES');
      return false;
    } catch {
      return true;
    }
  }, 120_000, 50);
  writer.destroy();
  const abortedMs = Date.now() - disabledAt;
  await waitFor('inaccessible-encryption-credentials');
  await assert.rejects(connect());
  // a start while the key is disabled is refused with the same status (the volume cannot be unlocked)
  const starting = await rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: 'shop' }));
  assert.equal(starting.DBInstance?.DBInstanceStatus, 'starting'); // committed before the call returns: the wait below sees the job's outcome
  await waitFor('inaccessible-encryption-credentials');
  await kms.send(new EnableKeyCommand({ KeyId: keyId }));
  await rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: 'shop' }));
  await waitFor('available');
  // (a server started without its keys loses recent Aria changes: the log then says so)
  const c2 = await connect().catch((e: unknown) => {
    t.diagnostic(`mariadbd's log:\n${readFileSync(paths.logFile, 'utf8').split('\n').slice(-80).join('\n')}`);
    throw e;
  });
  const [again] = await c2.query('SELECT v FROM t WHERE id = 1') as [{ v: string }[], unknown];
  assert.equal(again[0]!.v, CANARY, 'data intact after the key came back');
  await c2.end();
  // a second rotation, on the freshly started server: version 5 (versions go 1, 3, 5)
  const nudgesBefore = nudges;
  const c3 = await connect();
  const second = Date.now();
  await s.kmsClient().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
  await until('every tablespace on key version 5', async () => {
    await c3.query('INSERT INTO t (v) SELECT CONCAT(\'again-\', seq) FROM seq_1_to_200');
    if (Date.now() - checked > 2000) {
      checked = Date.now();
      await s.db.checkKeys();
    }
    return /^0 of \d+ InnoDB tablespaces below key version 5$/.test(rotation(await describe())?.Message ?? '');
  }, 180_000, 100);
  await c3.end();
  const secondMs = Date.now() - second;
  // the accounts too (Aria system tables): the rotated master password logs in (above), install-db's root does not
  await assert.rejects(mysql.createConnection({ host: inst.Endpoint!.Address, port: inst.Endpoint!.Port, user: 'root' }), /Access denied/);
  assert.doesNotMatch(readFileSync(paths.logFile, 'utf8'), /global_priv could not be opened/, 'mariadbd never started without its keys');

  // deleted: the instance's keyring and token are gone with it
  await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'shop', SkipFinalSnapshot: true }));
  await until('shop deleted', async () => (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'shop' })).then(() => false, (e: Error) => e.name === 'DBInstanceNotFoundFault')), 120_000, 200);
  const gone = await fetch(`${s.url}/v1/mariadb/${rec.mariadbKeys!.keyring}/data/1`, { headers: { 'x-vault-token': rec.mariadbKeys!.token } });
  assert.equal(gone.status, 403);
  t.diagnostic(`create ${createdMs} ms; rotation to version 3: ${rotateMs} ms, ${writes} write batches, progress seen before 0: ${sawProgress}, encryption threads restarted ${nudgesBefore} times; aborted ${abortedMs} ms after DisableKey; second rotation (after a start) to version 5: ${secondMs} ms, threads restarted ${nudges - nudgesBefore} times`);
});

test('an unencrypted mariadb instance: MasterUserPassword, ModifyDBInstance, stop/start and a rekey restart keep the Endpoint', { skip: missing || false, timeout: 300_000 }, async (t) => {
  const s = await startTestServer();
  t.after(() => s.cleanup());
  const rds = rdsClient(s);
  const t0 = Date.now();
  await rds.send(new CreateDBInstanceCommand({
    DBInstanceIdentifier: 'plain', Engine: 'mariadb', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app', MasterUserPassword: 'first-Password-1',
  }));
  const waitFor = (client: typeof rds, status: string) => until(`plain ${status}`, async () => {
    const i = (await client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'plain' }))).DBInstances![0]!;
    return i.DBInstanceStatus === status ? i : undefined;
  }, 180_000, 200);
  const inst = await waitFor(rds, 'available');
  assert.equal(inst.StorageEncrypted, false);
  assert.equal(inst.StatusInfos, undefined, 'no key rotation without StorageEncrypted');
  const login = async (password: string) => (await mysql.createConnection({ host: inst.Endpoint!.Address, port: inst.Endpoint!.Port, user: 'app', password })).end();
  await login('first-Password-1');
  await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'plain', MasterUserPassword: 'second-Password-2', ApplyImmediately: true }));
  await assert.rejects(login('first-Password-1'), /Access denied/);
  await login('second-Password-2');
  await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'plain' }));
  const stopped = await waitFor(rds, 'stopped');
  assert.deepEqual(stopped.Endpoint, inst.Endpoint);
  await assert.rejects(login('second-Password-2'));
  await rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: 'plain' }));
  await waitFor(rds, 'available');
  await login('second-Password-2');

  // a rekey restart stops the server; the next start brings it back behind the same Endpoint
  const s2 = await s.restart();
  t.after(() => s2.close());
  const again = await waitFor(rdsClient(s2), 'available');
  assert.deepEqual(again.Endpoint, inst.Endpoint);
  await until('plain serving after the restart', () => login('second-Password-2').then(() => true), 60_000, 200);
  await rdsClient(s2).send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'plain', SkipFinalSnapshot: true }));
  await until('plain deleted', async () => rdsClient(s2).send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'plain' })).then(() => false, (e: Error) => e.name === 'DBInstanceNotFoundFault'), 120_000, 200);
  await s2.close();
  t.diagnostic(`steps done at ${Date.now() - t0} ms`);
});
