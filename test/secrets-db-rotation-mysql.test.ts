// The MySQL/MariaDB strategies end to end: a real rekey server driven by the AWS SDK rotates secrets
// in AWS's JSON shape on the MariaDB at REKEY_TEST_MYSQL_URL, 50 rotations per strategy, while two
// clients open a new connection for every transaction with the secret they last read through
// GetSecretValue (re-reading once after an authentication failure). Users and the database are
// created here with real passwords (sent as mysql_native_password hashes) and dropped at the end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { randomBytes } from '../src/crypto/index.ts';
import { mysqlNativePasswordHash } from '../src/crypto/scram.ts';
import type { DbSecret } from '../src/secrets/strategy.ts';
import { mysqlLoadDriver } from './helpers/db-load.ts';
import { createDbSecret, readSecret, rotateUnderLoad } from './helpers/db-rotation-api.ts';
import { connectAdmin, mysqlSkipReason, type MysqlAdmin } from './helpers/mysql.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

const skip = await mysqlSkipReason();
const tag = randomBytes(4).toString('hex');
const db = `rekey_e2e_${tag}`;
const users: string[] = [];
let admin: MysqlAdmin;
let server: TestServer;

before(async () => {
  if (skip) return;
  admin = await connectAdmin();
  await admin.conn.query(`CREATE DATABASE \`${db}\``);
  server = await startTestServer();
});
after(async () => {
  await server?.cleanup();
  if (!admin) return;
  for (const u of users) await admin.conn.query(`DROP USER IF EXISTS '${u}'@'%'`);
  await admin.conn.query(`DROP DATABASE IF EXISTS \`${db}\``);
  await admin.conn.end();
});

/** A user with a generated password (sent as its hash) and grants; {} in a grant is the account. */
async function createUser(name: string, ...grants: string[]): Promise<DbSecret> {
  const password = randomBytes(24).toString('base64url');
  users.push(name, `${name}_clone`);
  await admin.conn.query(`CREATE USER '${name}'@'%' IDENTIFIED BY PASSWORD '${mysqlNativePasswordHash(password)}'`);
  for (const g of grants) await admin.conn.query(g.replace('{}', `'${name}'@'%'`));
  return { engine: 'mariadb', host: admin.host, port: admin.port, username: name, password, dbname: db };
}

async function login(s: DbSecret): Promise<void> {
  const c = await mysql.createConnection({ host: s.host, port: Number(s.port), user: s.username, password: s.password, database: String(s.dbname) });
  try {
    const [rows] = await c.query('SELECT CURRENT_USER() AS u');
    assert.equal((rows as Array<{ u: string }>)[0]!.u, `${s.username}@%`);
  } finally {
    await c.end();
  }
}

async function rowCount(table: string): Promise<number> {
  const [rows] = await admin.conn.query(`SELECT count(*) AS n FROM \`${db}\`.\`${table}\``);
  return Number((rows as Array<{ n: number }>)[0]!.n);
}

test('mysql-single-user through the API (MariaDB): 50 rotations under load, 0 failed transactions after the one re-read', { skip }, async (t) => {
  await admin.conn.query(`CREATE TABLE \`${db}\`.load_s (worker int, n int) ENGINE=InnoDB`);
  const initial = await createUser(`es_${tag}`, `GRANT SELECT, INSERT ON \`${db}\`.load_s TO {}`);
  const sm = server.secretsClient();
  const arn = await createDbSecret(sm, `e2e/mysql/single-${tag}`, initial);
  const run = await rotateUnderLoad(t, 'mysql-single-user', { sm, jobs: server.jobs, arn, strategy: 'mysql-single-user', driver: mysqlLoadDriver('load_s') });
  assert.ok(run.counts.authFailures > 0, 'the old password stopped working at some rotation (else the test proves nothing)');
  assert.equal(await rowCount('load_s'), run.counts.transactions);
  // AWS semantics: AWSCURRENT logs in; AWSPREVIOUS holds the replaced password, which no longer works on MariaDB.
  const current = await readSecret(sm, arn);
  assert.equal(current.password, run.values.at(-1)!.password);
  await login(current);
  const previous = await readSecret(sm, arn, { stage: 'AWSPREVIOUS' });
  assert.equal(previous.password, run.values.at(-2)!.password);
  await assert.rejects(login(previous), (e: { code?: string; message: string }) => {
    assert.equal(e.code, 'ER_ACCESS_DENIED_ERROR');
    assert.match(e.message, new RegExp(`^Access denied for user 'es_${tag}'@`));
    return true;
  });
});

test('mysql-alternating-users through the API (MariaDB): 50 rotations under load, 0 failed transactions', { skip }, async (t) => {
  await admin.conn.query(`CREATE TABLE \`${db}\`.load_a (worker int, n int) ENGINE=InnoDB`);
  const initial = await createUser(`ea_${tag}`, `GRANT SELECT, INSERT ON \`${db}\`.load_a TO {}`);
  const master = await createUser(`em_${tag}`, 'GRANT ALL PRIVILEGES ON *.* TO {} WITH GRANT OPTION');
  const sm = server.secretsClient();
  const masterArn = await createDbSecret(sm, `e2e/mysql/master-${tag}`, master);
  const arn = await createDbSecret(sm, `e2e/mysql/alternating-${tag}`, { ...initial, masterarn: masterArn });
  const run = await rotateUnderLoad(t, 'mysql-alternating-users', { sm, jobs: server.jobs, arn, strategy: 'mysql-alternating-users', driver: mysqlLoadDriver('load_a') });
  assert.equal(await rowCount('load_a'), run.counts.transactions);
  assert.deepEqual(run.values.slice(0, 2).map((v) => v.username), [`ea_${tag}_clone`, `ea_${tag}`]);
  // AWS semantics: AWSCURRENT and AWSPREVIOUS are the two users of the pair, and both log in.
  const current = await readSecret(sm, arn);
  const previous = await readSecret(sm, arn, { stage: 'AWSPREVIOUS' });
  assert.deepEqual([current.password, previous.password], [run.values.at(-1)!.password, run.values.at(-2)!.password]);
  assert.deepEqual([current.username, previous.username].sort(), [`ea_${tag}`, `ea_${tag}_clone`]);
  await login(current);
  await login(previous);
});
