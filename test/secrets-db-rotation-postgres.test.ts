// The PostgreSQL strategies end to end: a real rekey server driven by the AWS SDK rotates secrets
// in AWS's JSON shape on a real PostgreSQL (embedded, scram-sha-256, every statement logged), 50
// rotations per strategy, while two clients open a new connection for every transaction with the
// secret they last read through GetSecretValue (re-reading once after an authentication failure).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { randomBytes } from '../src/crypto/index.ts';
import { postgresScramVerifier } from '../src/crypto/scram.ts';
import type { DbSecret } from '../src/secrets/strategy.ts';
import { pgLoadDriver } from './helpers/db-load.ts';
import { createDbSecret, readSecret, rotateUnderLoad } from './helpers/db-rotation-api.ts';
import { startPostgres, type StartedPostgres } from './helpers/pg.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let db: StartedPostgres;
let admin: pg.Client;
let server: TestServer;
/** Every password of a login rotated here: the initial ones and every rotation's. */
const passwords: string[] = [];

before(async () => {
  db = await startPostgres({ logStatements: true });
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  server = await startTestServer();
});
after(async () => {
  await server?.cleanup();
  await admin?.end();
  await db?.stop();
});

/** A login with a generated password, set as a verifier (the setup must not log a plaintext either). */
async function createLogin(name: string): Promise<DbSecret> {
  const password = randomBytes(24).toString('base64url');
  passwords.push(password);
  await admin.query(`CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN PASSWORD '${postgresScramVerifier(password)}'`);
  return { engine: 'postgres', host: '127.0.0.1', port: db.port, username: name, password, dbname: db.database };
}

async function login(s: DbSecret): Promise<void> {
  const c = new pg.Client({ host: s.host, port: Number(s.port), user: s.username, password: s.password, database: String(s.dbname) });
  await c.connect();
  try {
    assert.equal((await c.query('SELECT session_user AS u')).rows[0].u, s.username);
  } finally {
    await c.end();
  }
}

test('postgresql-single-user through the API: 50 rotations under load, 0 failed transactions after the one re-read', async (t) => {
  const initial = await createLogin('e2e_su');
  await admin.query('CREATE TABLE e2e_su_load (worker int, n int); GRANT SELECT, INSERT ON e2e_su_load TO e2e_su');
  const sm = server.secretsClient();
  const arn = await createDbSecret(sm, 'e2e/pg/single', initial);
  const run = await rotateUnderLoad(t, 'postgresql-single-user', { sm, jobs: server.jobs, arn, strategy: 'postgresql-single-user', driver: pgLoadDriver('e2e_su_load') });
  passwords.push(...run.values.map((v) => v.password));
  assert.ok(run.counts.authFailures > 0, 'the old password stopped working at some rotation (else the test proves nothing)');
  assert.equal((await admin.query('SELECT count(*)::int AS n FROM e2e_su_load')).rows[0].n, run.counts.transactions);
  // AWS semantics: AWSCURRENT logs in; single user's AWSPREVIOUS holds the replaced password, which no longer works.
  const current = await readSecret(sm, arn);
  assert.equal(current.password, run.values.at(-1)!.password);
  await login(current);
  const previous = await readSecret(sm, arn, { stage: 'AWSPREVIOUS' });
  assert.equal(previous.password, run.values.at(-2)!.password);
  await assert.rejects(login(previous), (e: { code?: string; message: string }) => {
    assert.equal(e.code, '28P01');
    assert.equal(e.message, 'password authentication failed for user "e2e_su"');
    return true;
  });
});

test('postgresql-alternating-users through the API: 50 rotations under load, 0 failed transactions', async (t) => {
  const initial = await createLogin('e2e_alt');
  await admin.query('CREATE TABLE e2e_alt_load (worker int, n int); GRANT SELECT, INSERT ON e2e_alt_load TO e2e_alt');
  const sm = server.secretsClient();
  const masterArn = await createDbSecret(sm, 'e2e/pg/master', { engine: 'postgres', host: '127.0.0.1', port: db.port, username: db.user, password: db.password, dbname: db.database });
  const arn = await createDbSecret(sm, 'e2e/pg/alternating', { ...initial, masterarn: masterArn });
  const run = await rotateUnderLoad(t, 'postgresql-alternating-users', { sm, jobs: server.jobs, arn, strategy: 'postgresql-alternating-users', driver: pgLoadDriver('e2e_alt_load') });
  passwords.push(...run.values.map((v) => v.password));
  assert.equal((await admin.query('SELECT count(*)::int AS n FROM e2e_alt_load')).rows[0].n, run.counts.transactions);
  assert.deepEqual(run.values.slice(0, 4).map((v) => v.username), ['e2e_alt_clone', 'e2e_alt', 'e2e_alt_clone', 'e2e_alt']);
  // AWS semantics: AWSCURRENT and AWSPREVIOUS are the two logins of the pair, and both log in.
  const current = await readSecret(sm, arn);
  const previous = await readSecret(sm, arn, { stage: 'AWSPREVIOUS' });
  assert.deepEqual([current.password, previous.password], [run.values.at(-1)!.password, run.values.at(-2)!.password]);
  assert.deepEqual([current.username, previous.username].sort(), ['e2e_alt', 'e2e_alt_clone']);
  assert.equal(current.masterarn, masterArn);
  await login(current);
  await login(previous);
});

// Last: every rotation above ran with log_statement = all.
test('the PostgreSQL log of the API-driven rotations has the ALTER ROLE statements and no password', async () => {
  await db.flushLog();
  const log = readFileSync(db.logFile, 'utf8');
  assert.match(log, /ALTER ROLE "e2e_su" PASSWORD 'SCRAM-SHA-256\$4096:/);
  assert.match(log, /(CREATE|ALTER) ROLE "e2e_alt(_clone)?" (WITH )?LOGIN PASSWORD 'SCRAM-SHA-256\$4096:/);
  assert.equal(passwords.length, 2 + 2 * 50);
  assert.deepEqual(passwords.filter((p) => log.includes(p)), []);
});
