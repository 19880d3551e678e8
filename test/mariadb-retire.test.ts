// Retiring old key versions of an encrypted RDS mariadb instance (issue 15; docs/MARIADB.md
// "Retiring old versions"), with the OS's mariadbd and the hashicorp_key_management plugin reading
// the instance's keys from a test rekey server:
// - rotation with InnoDB's encryption threads off: every tablespace stays below the new version 3,
//   and nothing is retired (the decision names the tablespaces, and the server's start);
// - a reboot: the redo log is re-created under version 3, InnoDB moves every tablespace, rekey
//   rebuilds the system Aria tables; key 2's version 1 is retired, key 1's is kept while binlog.000001
//   (encrypted under version 1) exists; purged, key 1's version 1 is retired too (audit event
//   KeyVersionsRetired), the Vault endpoint answers it 404 {"errors":[]} as Vault does;
// - `rekey db show` and DescribeDBInstances' StatusInfos say what is served, retired and kept;
// - a reboot without the retired versions: the server starts and the canary row reads back.
// Skips only where mariadbd, the plugin or gocryptfs is missing, never under CI=true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { CreateKeyCommand, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import { RebootDBInstanceCommand } from '@aws-sdk/client-rds';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { until } from './helpers/db-node.ts';
import { mariaDbMissing } from './helpers/mariadb-server.ts';
import { createEncryptedMariadb, instanceWatch, rdsClient } from './helpers/rds.ts';
import { startTestServer } from './helpers/server.ts';
import { rekeyCli } from './helpers/rekey-cli.ts';
import { findVolumeTools } from '../src/db/volume.ts';
import { mariadbAdminRows } from '../src/db/mariadb-server.ts';
import { redoKeyVersionOf } from '../src/db/mariadb-retire.ts';
import type { InstanceRecord } from '../src/db/model.ts';

const missing = mariaDbMissing() || (typeof findVolumeTools() === 'string' ? 'gocryptfs' : false);
if (missing && process.env['CI'] === 'true') throw new Error(`${missing}: CI=true does not skip the MariaDB tests`);

const CANARY = 'rekey-retire-canary-' + 'Zp3'.repeat(8);

test('old key versions are retired only when the server no longer needs them; it restarts and reads its data without them', { skip: missing || false, timeout: 600_000 }, async (t) => {
  const s = await startTestServer();
  t.after(() => s.cleanup());
  const rds = rdsClient(s);
  const kms = s.kmsClient();
  const keyId = (await kms.send(new CreateKeyCommand({ Description: 'retire db' }))).KeyMetadata!.KeyId!;
  await createEncryptedMariadb(rds, 'shop', keyId, 'shop');
  const { describe, waitFor } = instanceWatch(rds, 'shop');
  const inst = await waitFor('available');
  const secret = JSON.parse((await s.secretsClient().send(new GetSecretValueCommand({ SecretId: inst.MasterUserSecret!.SecretArn }))).SecretString!);
  const connect = () => mysql.createConnection({ host: inst.Endpoint!.Address, port: inst.Endpoint!.Port, user: 'app', password: secret.password, database: 'shop' });
  const c = await connect();
  await c.query('CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(200) NOT NULL) ENGINE=InnoDB');
  await c.query('INSERT INTO t (v) VALUES (?)', [CANARY]);

  const rec = (await s.barrier.getJSON<InstanceRecord>('db/instances/shop'))!.value;
  const paths = s.db.core.runtime.paths(rec);
  const keys = s.db.core.mariadbKeys!;
  const admin = <T>(sql: string) => mariadbAdminRows<T>(rec, paths, sql);
  const { keyring, token } = rec.mariadbKeys!;
  const vault = (id: number, version?: number) => fetch(`${s.url}/v1/mariadb/${keyring}/data/${id}${version ? `?version=${version}` : ''}`, { headers: { 'x-vault-token': token } });
  const info = async (type: string) => (await describe()).StatusInfos?.find((x) => x.StatusType === type)?.Message ?? '';
  const redoVersion = () => redoKeyVersionOf(readFileSync(`${paths.dataDir}/ib_logfile0`).subarray(0, 512));
  assert.equal(redoVersion(), 1);
  assert.equal(await info('key versions'), 'key 1: served 1; key 2: served 1');

  // the negative case: InnoDB's encryption threads off, then a rotation -> every tablespace stays
  // below version 3, and nothing is retired
  await admin('SET GLOBAL innodb_encryption_threads = 0');
  await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
  assert.deepEqual(await keys.retire(rec, paths), []);
  assert.match(await info('key rotation'), /^[1-9]\d* of \d+ InnoDB tablespaces below key version 3$/);
  const held = await info('key versions');
  assert.match(held, /^key 1: served 1,3 \(kept: .*InnoDB tablespaces have pages under version 1.*\); key 2: served 1,3 \(kept: /);
  assert.match(held, /the server started before version 3 was made/);
  assert.match(held, /the redo log was created under version 1/);
  assert.equal((await vault(1, 1)).status, 200);
  assert.equal((await vault(2, 1)).status, 200);
  await c.end();

  // a reboot: the redo log is re-created (another innodb_log_file_size), InnoDB moves every
  // tablespace to version 3; the key check (run here every 2 s) rebuilds the system Aria tables
  // and retires what nothing holds: key 2's version 1; key 1's is held by binlog.000001
  // MariaDB tells its start time in whole seconds (Uptime), so rekey counts a start as after version
  // 3 only from the next second on: the reboot begins once the clock has left the second in which
  // version 3 was seen (the version is older than that)
  const seen = Date.now();
  while (Math.floor(Date.now() / 1000) === Math.floor(seen / 1000)) await new Promise((r) => setTimeout(r, 20));
  await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: 'shop' }));
  await waitFor('available');
  assert.equal(redoVersion(), 3);
  const c2 = await connect();
  let checked = 0;
  await until('every tablespace on version 3 and key 2 version 1 retired', async () => {
    await c2.query('INSERT INTO t (v) SELECT CONCAT(\'row-\', seq) FROM seq_1_to_200'); // keeps mariadbd's CPU busy: the plugin's cache timeouts count it
    if (Date.now() - checked > 2000) {
      checked = Date.now();
      await s.db.checkKeys();
    }
    return /^0 of \d+ InnoDB tablespaces below key version 3$/.test(await info('key rotation')) && (await vault(2, 1)).status === 404;
  }, 180_000, 100).catch(async (e: Error) => {
    throw new Error(`${e.message}; key rotation: ${await info('key rotation')}; key versions: ${await info('key versions')}`);
  });
  await s.db.checkKeys();
  assert.match(await info('key versions'), /^key 1: served 1,3 \(kept: binary log binlog\.000001 is encrypted under version 1 \(until purged or expired\)\); key 2: served 3, retired 1$/);
  assert.equal((await vault(1, 1)).status, 200);

  // binlog.000001 purged (as its expiry would): key 1's version 1 is retired at the next check
  const [master] = await admin<{ File: string }>('SHOW MASTER STATUS');
  await admin(`PURGE BINARY LOGS TO '${master!.File}'`);
  let retireCalls = 0;
  const retireOnce = keys.retire.bind(keys);
  keys.retire = async (...args) => {
    retireCalls++;
    return retireOnce(...args).catch((e: unknown) => {
      t.diagnostic(`retire: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      throw e;
    });
  };
  await until('key 1 version 1 retired by the key check', async () => {
    await s.db.checkKeys();
    return (await vault(1, 1)).status === 404;
  }, 60_000, 100);
  t.diagnostic(`key checks until key 1 version 1 was retired: ${retireCalls}`);
  assert.equal(await info('key versions'), 'key 1: served 3, retired 1; key 2: served 3, retired 1');
  const gone = await vault(1, 1);
  assert.equal(gone.status, 404);
  assert.deepEqual(await gone.json(), { errors: [] });
  const latest = await vault(1);
  assert.equal(latest.status, 200);
  assert.equal(((await latest.json()) as { data: { metadata: { version: number } } }).data.metadata.version, 3);
  const events = (await s.audit.lookup({ eventName: 'KeyVersionsRetired', maxResults: 10 })).events;
  const retired = events.map((r) => (r.event as { additionalEventData?: { versions?: string } }).additionalEventData?.versions).sort();
  assert.deepEqual(retired, ['1:1', '2:1']);
  const cli = await rekeyCli(['db', 'show', 'shop', '--endpoint', s.url]);
  assert.equal(cli.status, 0, cli.err);
  assert.match(cli.out, /\nkey rotation: complete: 0 of \d+ InnoDB tablespaces below key version 3\nkey 1 versions: served 3; retired 1\nkey 2 versions: served 3; retired 1\n$/);
  await c2.end();

  // the server restarts without the retired versions and reads its data
  await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: 'shop' }));
  await waitFor('available');
  const c3 = await connect().catch((e: unknown) => {
    t.diagnostic(`mariadbd's log:\n${readFileSync(paths.logFile, 'utf8').split('\n').slice(-60).join('\n')}`);
    throw e;
  });
  const [rows] = await c3.query('SELECT v FROM t WHERE id = 1') as [{ v: string }[], unknown];
  assert.equal(rows[0]!.v, CANARY);
  const [accounts] = await c3.query('SELECT COUNT(*) AS n FROM mysql.global_priv') as [{ n: number }[], unknown];
  assert.ok(Number(accounts[0]!.n) >= 2, 'the rebuilt Aria system tables read back');
  await c3.end();
  assert.doesNotMatch(readFileSync(paths.logFile, 'utf8'), /could not be opened|Failed to decrypt|key .* not found/i);
});
