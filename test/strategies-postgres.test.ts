// The PostgreSQL rotation strategies against a real PostgreSQL (embedded, scram-sha-256, every
// statement logged): 50 rotations under a client load, the AWS alternating-users faults, idempotent
// steps, failed steps, and no plaintext password in the server log.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { postgresScramVerifier } from '../src/crypto/scram.ts';
import type { DbSecret } from '../src/secrets/strategy.ts';
import { BUILTIN_STRATEGIES } from '../src/secrets/strategies/index.ts';
import { postgresqlAlternatingUsers as alternating } from '../src/secrets/strategies/postgresql-alternating-users.ts';
import { postgresqlSingleUser as single } from '../src/secrets/strategies/postgresql-single-user.ts';
import { pgLoadDriver, startLoad } from './helpers/db-load.ts';
import { startPostgres, type StartedPostgres } from './helpers/pg.ts';
import { TestSecretStore, generatedPasswords, newPassword, rotate, stepContext } from './helpers/rotation-store.ts';

const ROTATIONS = 50;
let server: StartedPostgres;
let admin: pg.Client;
let master: DbSecret;

before(async () => {
  server = await startPostgres({ logStatements: true });
  admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  master = { engine: 'postgres', host: '127.0.0.1', port: server.port, username: server.user, password: server.password, dbname: server.database };
});
after(async () => {
  await admin?.end();
  await server?.stop();
});

/** A login role with a generated password, set as a verifier (the setup must not log a plaintext either). */
async function createLogin(name: string): Promise<DbSecret> {
  const password = newPassword();
  await admin.query(`CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN PASSWORD '${postgresScramVerifier(password)}'`);
  return { engine: 'postgres', host: '127.0.0.1', port: server.port, username: name, password, dbname: server.database };
}

async function asUser<T>(s: DbSecret, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: s.host, port: Number(s.port), user: s.username, password: s.password, database: String(s.dbname) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function assertLoginRefused(s: DbSecret): Promise<void> {
  await assert.rejects(asUser(s, async () => {}), (e: { code?: string; message: string }) => {
    assert.equal(e.code, '28P01');
    assert.match(e.message, new RegExp(`password authentication failed for user "${s.username}"`));
    return true;
  });
}

async function underLoad(t: TestContext, label: string, store: TestSecretStore, table: string, masterSecret?: DbSecret) {
  const strategy = label.includes('single') ? single : alternating;
  const load = startLoad({ ...pgLoadDriver(table), readSecret: () => store.readCurrent(), workers: 2 });
  await load.waitForTransactions(2);
  for (let i = 0; i < ROTATIONS; i++) {
    await rotate(store, strategy, masterSecret);
    await load.waitForTransactions(1); // every client opens a connection after each rotation
  }
  const counts = await load.stop();
  const line = `${label}: ${ROTATIONS} rotations, ${counts.transactions} transactions, ${counts.authFailures} auth failures before re-read, ${counts.reReads} re-reads, ${counts.failed} failed`;
  t.diagnostic(line);
  console.log(line);
  assert.deepEqual(counts.failures, []);
  assert.equal(counts.failed, 0);
  assert.ok(counts.transactions >= 2 * ROTATIONS);
  const rows = await admin.query(`SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(table)}`);
  assert.equal(rows.rows[0].n, counts.transactions);
  return counts;
}

test('the four built-in strategies are registered under their AWS names', () => {
  assert.deepEqual(BUILTIN_STRATEGIES.map((s) => [s.name, s.needsMaster, s.invalidatesCurrent]), [
    ['postgresql-single-user', false, true],
    ['postgresql-alternating-users', true, false],
    ['mysql-single-user', false, true],
    ['mysql-alternating-users', true, false],
  ]);
});

test('postgresql-single-user: 50 rotations under load, 0 failed transactions after the one re-read', async (t) => {
  const initial = await createLogin('su_app');
  await admin.query('CREATE TABLE su_load (worker int, n int)');
  await admin.query('GRANT SELECT, INSERT ON su_load TO su_app');
  const store = new TestSecretStore(initial);
  const counts = await underLoad(t, 'postgresql-single-user', store, 'su_load');
  assert.ok(counts.authFailures > 0, 'the old password stopped working at some rotation (else the test proves nothing)');
  await asUser(store.get('AWSCURRENT')!, (c) => c.query('SELECT 1'));
  await assertLoginRefused(store.get('AWSPREVIOUS')!);
});

test('postgresql-alternating-users: 50 rotations under load, 0 failed transactions', async (t) => {
  const initial = await createLogin('alt_app');
  await admin.query('GRANT CREATE ON SCHEMA public TO alt_app'); // a direct grant the owner role must inherit
  await asUser(initial, (c) => c.query('CREATE TABLE alt_load (worker int, n int)')); // owned by the base login
  const store = new TestSecretStore(initial);
  await underLoad(t, 'postgresql-alternating-users', store, 'alt_load', master);
  // Both logins work: AWSCURRENT and AWSPREVIOUS are the two users of the pair.
  const users = [store.get('AWSCURRENT')!, store.get('AWSPREVIOUS')!];
  assert.deepEqual(users.map((u) => u.username).sort(), ['alt_app', 'alt_app_clone']);
  for (const u of users) await asUser(u, (c) => c.query('SELECT count(*) FROM alt_load'));
  const owner = await admin.query("SELECT tableowner FROM pg_tables WHERE tablename = 'alt_load'");
  assert.equal(owner.rows[0].tableowner, 'alt_app_owner');
});

test('alternating users fixes the AWS template faults: objects of either login and later grants reach both', async () => {
  const base = await createLogin('own_app');
  await admin.query('GRANT CREATE ON SCHEMA public TO own_app');
  const store = new TestSecretStore(base);
  await rotate(store, alternating, master);
  const clone = store.get('AWSCURRENT')!;
  assert.equal(clone.username, 'own_app_clone');
  const original = store.get('AWSPREVIOUS')!;
  // A table the clone creates is usable (and alterable) by the original login, and vice versa.
  await asUser(clone, (c) => c.query('CREATE TABLE by_clone (x int); INSERT INTO by_clone VALUES (1)'));
  await asUser(original, async (c) => {
    await c.query('INSERT INTO by_clone VALUES (2)');
    await c.query('ALTER TABLE by_clone ADD COLUMN y int');
    await c.query('CREATE TABLE by_original (x int); INSERT INTO by_original VALUES (1)');
  });
  await asUser(clone, async (c) => {
    assert.equal((await c.query('SELECT count(*)::int AS n FROM by_clone')).rows[0].n, 2);
    await c.query('INSERT INTO by_original VALUES (2)');
    await c.query('DROP TABLE by_original');
  });
  // A grant made to the base login after the first rotation...
  await admin.query('CREATE TABLE late (x int); INSERT INTO late VALUES (7)');
  await admin.query('GRANT SELECT ON late TO own_app');
  await assert.rejects(asUser(clone, (c) => c.query('SELECT x FROM late')), (e: { code?: string; message: string }) => {
    assert.equal(e.code, '42501');
    assert.match(e.message, /permission denied for table late/);
    return true;
  });
  // ...reaches both logins after the next rotation.
  await rotate(store, alternating, master);
  assert.equal(store.get('AWSCURRENT')!.username, 'own_app');
  for (const s of [store.get('AWSCURRENT')!, store.get('AWSPREVIOUS')!]) {
    assert.equal((await asUser(s, (c) => c.query('SELECT x FROM late'))).rows[0].x, 7);
  }
  const who = await asUser(clone, (c) => c.query('SELECT session_user AS s, current_user AS u'));
  assert.deepEqual(who.rows[0], { s: 'own_app_clone', u: 'own_app_owner' });
  const owner = await admin.query("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'own_app_owner'");
  assert.equal(owner.rows[0].rolcanlogin, false);
});

test('alternating users keeps what sessions of the base login relied on: its schema on the path, CREATEDB, its search_path', async () => {
  const base = await createLogin('sch_app');
  await admin.query('ALTER ROLE sch_app CREATEDB');
  await admin.query('CREATE SCHEMA sch_app AUTHORIZATION sch_app');
  await asUser(base, (c) => c.query('CREATE TABLE mine (x int); INSERT INTO mine VALUES (1)')); // "$user" = sch_app
  const store = new TestSecretStore(base);
  await rotate(store, alternating, master);
  for (const s of [store.get('AWSCURRENT')!, store.get('AWSPREVIOUS')!]) {
    await asUser(s, async (c) => {
      assert.equal((await c.query('SELECT count(*)::int AS n FROM mine')).rows[0].n, 1); // unqualified still resolves
      assert.equal((await c.query('SHOW search_path')).rows[0].search_path, 'sch_app, public');
    });
  }
  await asUser(store.get('AWSCURRENT')!, async (c) => {
    await c.query('CREATE DATABASE sch_app_db'); // CREATEDB reached the owner role
    await c.query('DROP DATABASE sch_app_db');
  });

  const other = await createLogin('sp_app');
  await admin.query('CREATE SCHEMA custom; GRANT USAGE ON SCHEMA custom TO sp_app');
  await admin.query('ALTER ROLE sp_app SET search_path = custom, "$user", public');
  const store2 = new TestSecretStore(other);
  await rotate(store2, alternating, master);
  const shown = await asUser(store2.get('AWSCURRENT')!, (c) => c.query('SHOW search_path'));
  assert.equal(shown.rows[0].search_path, 'custom, "$user", public');
});

test('single user: every step can run twice, and setSecret again after it took effect', async () => {
  const initial = await createLogin('idem_su');
  const store = new TestSecretStore(initial);
  store.putPending(single.createPending(initial, undefined, newPassword()));
  const progress: string[] = [];
  const ctx = { ...stepContext(store), progress: (m: string) => progress.push(m) };
  await single.setSecret(ctx);
  await single.setSecret(ctx); // a crash after the ALTER: the job runs the step again
  assert.deepEqual(progress, ['password of idem_su set (SCRAM-SHA-256 verifier)', 'AWSPENDING already logs in; nothing to change']);
  await single.testSecret(ctx);
  await single.testSecret(ctx);
  store.promotePending();
  await asUser(store.get('AWSCURRENT')!, (c) => c.query('SELECT 1'));
  await assertLoginRefused(initial);
});

test('alternating users: every step can run twice and both logins keep working', async () => {
  const initial = await createLogin('idem_alt');
  const store = new TestSecretStore(initial);
  for (let i = 0; i < 2; i++) {
    store.putPending(alternating.createPending(store.get('AWSCURRENT')!, store.get('AWSPREVIOUS'), newPassword()));
    const ctx = stepContext(store, master);
    await alternating.setSecret(ctx);
    await asUser(store.get('AWSCURRENT')!, (c) => c.query('SELECT 1')); // AWSCURRENT works between the steps
    await alternating.setSecret(ctx);
    await alternating.testSecret(ctx);
    await alternating.testSecret(ctx);
    store.promotePending();
  }
  for (const s of [store.get('AWSCURRENT')!, store.get('AWSPREVIOUS')!]) await asUser(s, (c) => c.query('SELECT 1'));
  const members = await admin.query(
    "SELECT m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = 'idem_alt_owner' ORDER BY 1");
  assert.deepEqual(members.rows.map((r) => r.rolname), ['idem_alt', 'idem_alt_clone']);
});

test('a failed setSecret leaves AWSCURRENT working, says why without a password, and can be retried', async () => {
  const initial = await createLogin('fail_alt');
  const store = new TestSecretStore(initial);
  store.putPending(alternating.createPending(initial, undefined, newPassword()));
  const wrong = newPassword();
  const badMaster = { ...master, password: wrong };
  await assert.rejects(alternating.setSecret(stepContext(store, badMaster)), (e: Error) => {
    assert.equal(e.name, 'DatabaseLoginFailedException');
    assert.match(e.message, new RegExp(`^setSecret: login as user postgres \\(master\\) at 127\\.0\\.0\\.1:${server.port} was refused \\(28P01\\)`));
    for (const p of [wrong, master.password, store.get('AWSPENDING')!.password, initial.password]) assert.ok(!e.message.includes(p));
    return true;
  });
  await asUser(initial, (c) => c.query('SELECT 1'));
  await assert.rejects(alternating.testSecret(stepContext(store, master)), { name: 'DatabaseLoginFailedException' });
  await alternating.setSecret(stepContext(store, master)); // retry with the right master
  await alternating.testSecret(stepContext(store, master));

  // Single user: AWSCURRENT's password is wrong and AWSPENDING does not work either.
  const su = await createLogin('fail_su');
  const suStore = new TestSecretStore({ ...su, password: newPassword() });
  suStore.putPending(single.createPending(su, undefined, newPassword()));
  await assert.rejects(single.setSecret(stepContext(suStore)), (e: Error) => {
    assert.equal(e.name, 'DatabaseLoginFailedException');
    assert.match(e.message, /^setSecret: login as user fail_su \(AWSCURRENT\) at 127\.0\.0\.1:\d+ was refused \(28P01\): password authentication failed for user "fail_su"$/);
    return true;
  });
  await asUser(su, (c) => c.query('SELECT 1'));
});

test('bad secrets and aborted jobs are refused before any database access', async () => {
  const s: DbSecret = { engine: 'postgres', host: '127.0.0.1', port: server.port, username: 'x"; DROP ROLE postgres; --', password: 'p' };
  const store = new TestSecretStore(s);
  store.putPending({ ...s, password: 'q' });
  await assert.rejects(single.setSecret(stepContext(store)), (e: Error) => {
    assert.equal(e.name, 'ValidationException');
    assert.match(e.message, /^AWSCURRENT: username must match/);
    return true;
  });
  const mysqlSecret = { ...s, engine: 'mysql', username: 'ok' };
  const store2 = new TestSecretStore(mysqlSecret);
  store2.putPending(mysqlSecret);
  await assert.rejects(alternating.setSecret(stepContext(store2, master)), { name: 'ValidationException', message: 'AWSCURRENT: engine must be one of postgres, postgresql, aurora-postgresql' });
  // A job that lost its lease: the step stops before connecting.
  const ok = await createLogin('abort_su');
  const store3 = new TestSecretStore(ok);
  store3.putPending(single.createPending(ok, undefined, newPassword()));
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(single.setSecret({ ...stepContext(store3), signal: aborted.signal }), {
    name: 'DatabaseOperationException', message: 'setSecret: aborted (the job lost its lease or the server is stopping)',
  });
  await asUser(ok, (c) => c.query('SELECT 1'));
  assert.equal(alternating.createPending({ ...s, username: 'app' }, undefined, 'n').username, 'app_clone');
  assert.equal(alternating.createPending({ ...s, username: 'app_clone' }, undefined, 'n').username, 'app');
});

// Last in this file: every rotation above ran against this server with log_statement=all.
test('the PostgreSQL log has the ALTER ROLE statements and no generated password', async () => {
  await server.flushLog();
  const log = readFileSync(server.logFile, 'utf8');
  assert.match(log, /ALTER ROLE "su_app" PASSWORD 'SCRAM-SHA-256\$4096:/);
  assert.match(log, /ALTER ROLE "alt_app(_clone)?" WITH LOGIN PASSWORD 'SCRAM-SHA-256\$4096:/);
  assert.ok(generatedPasswords.length > 2 * ROTATIONS);
  const leaked = generatedPasswords.filter((p) => log.includes(p));
  assert.deepEqual(leaked, []);
});
