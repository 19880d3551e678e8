// The MySQL rotation strategies against a real MariaDB (REKEY_TEST_MYSQL_URL): 50 rotations under
// a client load, grants re-synced to the clone, idempotent steps, failed steps. Every user and the
// database are created here with real passwords (as mysql_native_password hashes) and dropped at
// the end; nothing global is changed. The MySQL 8 statements are not exercised (no MySQL 8 here).
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { randomBytes } from '../src/crypto/index.ts';
import { mysqlNativePasswordHash } from '../src/crypto/scram.ts';
import type { DbSecret } from '../src/secrets/strategy.ts';
import { mysqlAlternatingUsers as alternating } from '../src/secrets/strategies/mysql-alternating-users.ts';
import { mysqlSingleUser as single } from '../src/secrets/strategies/mysql-single-user.ts';
import { mysqlLoadDriver, startLoad } from './helpers/db-load.ts';
import { connectAdmin, mysqlSkipReason, type MysqlAdmin } from './helpers/mysql.ts';
import { TestSecretStore, newPassword, rotate, stepContext } from './helpers/rotation-store.ts';

const ROTATIONS = 50;
const skip = await mysqlSkipReason();
const tag = randomBytes(4).toString('hex');
const db = `rekey_t_${tag}`;
const users: string[] = [];
let admin: MysqlAdmin;
let master: DbSecret;

before(async () => {
  if (skip) return;
  admin = await connectAdmin();
  await admin.conn.query(`CREATE DATABASE \`${db}\``);
  master = await createUser(`rkm_${tag}`, 'GRANT ALL PRIVILEGES ON *.* TO {} WITH GRANT OPTION');
});
after(async () => {
  if (!admin) return;
  for (const u of users) await admin.conn.query(`DROP USER IF EXISTS '${u}'@'%'`);
  await admin.conn.query(`DROP DATABASE IF EXISTS \`${db}\``);
  await admin.conn.end();
});

/** A user with a generated password (sent as its hash) and grants; {} in a grant is the account. */
async function createUser(name: string, ...grants: string[]): Promise<DbSecret> {
  const password = newPassword();
  users.push(name, `${name}_clone`);
  await admin.conn.query(`CREATE USER '${name}'@'%' IDENTIFIED BY PASSWORD '${mysqlNativePasswordHash(password)}'`);
  for (const g of grants) await admin.conn.query(g.replace('{}', `'${name}'@'%'`));
  return { engine: 'mariadb', host: admin.host, port: admin.port, username: name, password, dbname: db };
}

async function asUser<T>(s: DbSecret, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection({ host: s.host, port: Number(s.port), user: s.username, password: s.password, database: String(s.dbname) });
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function assertLoginRefused(s: DbSecret): Promise<void> {
  await assert.rejects(asUser(s, async () => {}), (e: { code?: string; message: string }) => {
    assert.equal(e.code, 'ER_ACCESS_DENIED_ERROR');
    assert.match(e.message, new RegExp(`^Access denied for user '${s.username}'@`));
    return true;
  });
}

async function underLoad(t: TestContext, label: string, store: TestSecretStore, table: string) {
  const strategy = label.includes('single') ? single : alternating;
  const load = startLoad({ ...mysqlLoadDriver(table), readSecret: () => store.readCurrent(), workers: 2 });
  await load.waitForTransactions(2);
  for (let i = 0; i < ROTATIONS; i++) {
    await rotate(store, strategy, master);
    await load.waitForTransactions(1);
  }
  const counts = await load.stop();
  const line = `${label} (MariaDB): ${ROTATIONS} rotations, ${counts.transactions} transactions, ${counts.authFailures} auth failures before re-read, ${counts.reReads} re-reads, ${counts.failed} failed`;
  t.diagnostic(line);
  console.log(line);
  assert.deepEqual(counts.failures, []);
  assert.equal(counts.failed, 0);
  assert.ok(counts.transactions >= 2 * ROTATIONS);
  const [rows] = await admin.conn.query(`SELECT count(*) AS n FROM \`${db}\`.\`${table}\``);
  assert.equal(Number((rows as Array<{ n: number }>)[0]!.n), counts.transactions);
  return counts;
}

test('mysql-single-user: 50 rotations under load, 0 failed transactions after the one re-read', { skip }, async (t) => {
  await admin.conn.query(`CREATE TABLE \`${db}\`.load_s (worker int, n int) ENGINE=InnoDB`);
  const initial = await createUser(`s_${tag}`, `GRANT SELECT, INSERT ON \`${db}\`.load_s TO {}`);
  const store = new TestSecretStore(initial);
  const counts = await underLoad(t, 'mysql-single-user', store, 'load_s');
  assert.ok(counts.authFailures > 0, 'the old password stopped working at some rotation');
  await asUser(store.get('AWSCURRENT')!, (c) => c.query('SELECT 1'));
  await assertLoginRefused(store.get('AWSPREVIOUS')!);
});

test('mysql-alternating-users: 50 rotations under load, 0 failed transactions', { skip }, async (t) => {
  await admin.conn.query(`CREATE TABLE \`${db}\`.load_a (worker int, n int) ENGINE=InnoDB`);
  const initial = await createUser(`a_${tag}`, `GRANT SELECT, INSERT ON \`${db}\`.load_a TO {}`);
  const store = new TestSecretStore(initial);
  await underLoad(t, 'mysql-alternating-users', store, 'load_a');
  const both = [store.get('AWSCURRENT')!, store.get('AWSPREVIOUS')!];
  assert.deepEqual(both.map((s) => s.username).sort(), [`a_${tag}`, `a_${tag}_clone`]);
  for (const s of both) await asUser(s, (c) => c.query('SELECT count(*) FROM load_a'));
});

test('alternating users: the clone gets the base grants, and a grant added later after the next rotation', { skip }, async () => {
  const base = await createUser(`g_${tag}`, `GRANT SELECT, INSERT, CREATE, DROP ON \`${db}\`.* TO {}`, 'ALTER USER {} WITH MAX_USER_CONNECTIONS 50');
  const store = new TestSecretStore(base);
  await rotate(store, alternating, master);
  const clone = store.get('AWSCURRENT')!;
  assert.equal(clone.username, `g_${tag}_clone`);
  // Tables either login creates are usable by the other (same grants; MySQL has no owners).
  await asUser(clone, (c) => c.query('CREATE TABLE by_clone (x int)'));
  await asUser(base, (c) => c.query('INSERT INTO by_clone VALUES (1)'));
  // A grant to the base user after the first rotation...
  await admin.conn.query(`CREATE TABLE \`${db}\`.late (x int)`);
  await admin.conn.query(`GRANT UPDATE ON \`${db}\`.late TO '${base.username}'@'%'`);
  await assert.rejects(asUser(clone, (c) => c.query('UPDATE late SET x = 1')), (e: { code?: string; message: string }) => {
    assert.equal(e.code, 'ER_TABLEACCESS_DENIED_ERROR');
    assert.match(e.message, /^UPDATE command denied to user/);
    return true;
  });
  // ...reaches the clone at the next rotation.
  await rotate(store, alternating, master);
  await asUser(clone, (c) => c.query('UPDATE late SET x = 1'));
  const [grants] = await admin.conn.query(`SHOW GRANTS FOR '${clone.username}'@'%'`);
  const text = (grants as Array<Record<string, string>>).map((r) => Object.values(r)[0]).join('\n');
  assert.match(text, /GRANT UPDATE ON `rekey_t_[0-9a-f]+`\.`late` TO `g_[0-9a-f]+_clone`@`%`/);
  assert.match(text, /GRANT USAGE ON \*\.\* TO `g_[0-9a-f]+_clone`@`%` IDENTIFIED BY PASSWORD '\*[0-9A-F]{40}' WITH MAX_USER_CONNECTIONS 50/);
});

test('single user: every step can run twice, and setSecret again after it took effect', { skip }, async () => {
  const initial = await createUser(`i_${tag}`, `GRANT SELECT ON \`${db}\`.* TO {}`);
  const store = new TestSecretStore(initial);
  store.putPending(single.createPending(initial, undefined, newPassword()));
  const progress: string[] = [];
  const ctx = { ...stepContext(store), progress: (m: string) => progress.push(m) };
  await single.setSecret(ctx);
  await single.setSecret(ctx);
  assert.match(progress[0]!, new RegExp(`^password of i_${tag} set \\(mysql_native_password hash, MariaDB 10\\.`));
  assert.equal(progress[1], 'AWSPENDING already logs in; nothing to change');
  await single.testSecret(ctx);
  await single.testSecret(ctx);
  store.promotePending();
  const after = stepContext(store);
  await single.finishSecret!(after);
  await single.finishSecret!(after);
  await asUser(store.get('AWSCURRENT')!, (c) => c.query('SELECT 1'));
  await assertLoginRefused(initial);
});

test('alternating users: every step can run twice and both logins keep working', { skip }, async () => {
  const initial = await createUser(`j_${tag}`, `GRANT SELECT ON \`${db}\`.* TO {}`);
  const store = new TestSecretStore(initial);
  for (let i = 0; i < 2; i++) {
    store.putPending(alternating.createPending(store.get('AWSCURRENT')!, store.get('AWSPREVIOUS'), newPassword()));
    const ctx = stepContext(store, master);
    await alternating.setSecret(ctx);
    await asUser(store.get('AWSCURRENT')!, (c) => c.query('SELECT 1'));
    await alternating.setSecret(ctx);
    await alternating.testSecret(ctx);
    await alternating.testSecret(ctx);
    store.promotePending();
  }
  for (const s of [store.get('AWSCURRENT')!, store.get('AWSPREVIOUS')!]) await asUser(s, (c) => c.query('SELECT 1'));
});

test('a failed setSecret leaves AWSCURRENT working, says why without a password, and can be retried', { skip }, async () => {
  const initial = await createUser(`f_${tag}`, `GRANT SELECT ON \`${db}\`.* TO {}`);
  const store = new TestSecretStore(initial);
  store.putPending(alternating.createPending(initial, undefined, newPassword()));
  const wrong = newPassword();
  await assert.rejects(alternating.setSecret(stepContext(store, { ...master, password: wrong })), (e: Error) => {
    assert.equal(e.name, 'DatabaseLoginFailedException');
    assert.match(e.message, new RegExp(`^setSecret: login as user rkm_${tag} \\(master\\) at .+ was refused \\(ER_ACCESS_DENIED_ERROR\\): Access denied for user '…'@'…' \\(using password: YES\\)$`));
    for (const p of [wrong, master.password, store.get('AWSPENDING')!.password, initial.password]) assert.ok(!e.message.includes(p));
    return true;
  });
  await asUser(initial, (c) => c.query('SELECT 1'));
  await assert.rejects(alternating.testSecret(stepContext(store, master)), { name: 'DatabaseLoginFailedException' });
  await alternating.setSecret(stepContext(store, master));
  await alternating.testSecret(stepContext(store, master));

  const su = await createUser(`h_${tag}`, `GRANT SELECT ON \`${db}\`.* TO {}`);
  const suStore = new TestSecretStore({ ...su, password: newPassword() });
  suStore.putPending(single.createPending(su, undefined, newPassword()));
  await assert.rejects(single.setSecret(stepContext(suStore)), { name: 'DatabaseLoginFailedException' });
  await asUser(su, (c) => c.query('SELECT 1'));
});
