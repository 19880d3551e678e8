// SIGKILL inside each rotation step with the real PostgreSQL strategies (embedded PostgreSQL,
// scram-sha-256): after a restart on the same data directory the rotation finishes, AWSCURRENT
// logs in and no password was lost (test/helpers/db-crash.ts has the scenario and the checks).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { randomBytes } from '../src/crypto/index.ts';
import { parsePostgresScramVerifier, postgresScramVerifier } from '../src/crypto/scram.ts';
import type { DbSecret } from '../src/secrets/strategy.ts';
import { KILL_POINTS } from './helpers/crash-strategies.ts';
import { killInside, type CrashEngine } from './helpers/db-crash.ts';
import { startPostgres, type StartedPostgres } from './helpers/pg.ts';

let db: StartedPostgres;
let admin: pg.Client;
let engine: CrashEngine;

before(async () => {
  db = await startPostgres();
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  const master: DbSecret = { engine: 'postgres', host: '127.0.0.1', port: db.port, username: db.user, password: db.password, dbname: db.database };
  const login = async (s: DbSecret) => {
    const c = new pg.Client({ host: s.host, port: Number(s.port), user: s.username, password: s.password, database: String(s.dbname) });
    await c.connect();
    try {
      assert.equal((await c.query('SELECT session_user AS u')).rows[0].u, s.username);
    } finally {
      await c.end();
    }
  };
  engine = {
    master,
    async createLogin(name) {
      const password = randomBytes(24).toString('base64url');
      await admin.query(`CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN PASSWORD '${postgresScramVerifier(password)}'`);
      return { ...master, username: name, password };
    },
    async stored(names) {
      const r = await admin.query('SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1) AND rolcanlogin', [names]);
      return new Map(r.rows.map((x: { rolname: string; rolpassword: string }) => [x.rolname, x.rolpassword]));
    },
    // The same verifier from the password with the stored salt and iterations.
    accepts(stored, password) {
      const k = stored ? parsePostgresScramVerifier(stored) : undefined;
      return k !== undefined && postgresScramVerifier(password, k.salt, k.iterations) === stored;
    },
    login,
    async assertRefused(s) {
      await assert.rejects(login(s), { code: '28P01', message: `password authentication failed for user "${s.username}"` });
    },
  };
});
after(async () => {
  await admin?.end();
  await db?.stop();
});

for (const strategy of ['postgresql-single-user', 'postgresql-alternating-users']) {
  for (const point of KILL_POINTS) {
    test(`${strategy}: SIGKILL inside ${point}; after a restart the rotation finishes and no password is lost`, { timeout: 120_000 }, () => killInside(engine, strategy, point, 'crash_'));
  }
}
