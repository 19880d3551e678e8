// The embedded PostgreSQL helper: real password authentication, a readable log, a clean stop.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import pg from 'pg';
import { startPostgres, type StartedPostgres } from './pg.ts';

let server: StartedPostgres;

before(async () => {
  server = await startPostgres({ logStatements: true });
});
after(async () => {
  await server?.stop();
});

test('connects with the generated password to the test database', async () => {
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    const r = await c.query('SELECT current_database() AS db, current_user AS u, version() AS v');
    assert.equal(r.rows[0].db, server.database);
    assert.equal(r.rows[0].u, 'postgres');
    assert.match(r.rows[0].v, /^PostgreSQL 18\./); // the package's binaries, not the machine's PostgreSQL 15
  } finally {
    await c.end();
  }
});

test('a wrong password is refused (pg_hba is not trust)', async () => {
  const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'postgres', password: server.password + 'x', database: server.database });
  await assert.rejects(c.connect(), (e: { code?: string; message: string }) => {
    assert.equal(e.code, '28P01'); // invalid_password
    assert.match(e.message, /password authentication failed for user "postgres"/);
    return true;
  });
  await c.end().catch(() => {});
});

test('every pg_hba rule is scram-sha-256 and the stored verifier is SCRAM', async () => {
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    const rules = await c.query('SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE error IS NULL');
    assert.deepEqual(rules.rows.map((r: { auth_method: string }) => r.auth_method), ['scram-sha-256']);
    const pw = await c.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'");
    assert.match(pw.rows[0].rolpassword, /^SCRAM-SHA-256\$4096:/);
  } finally {
    await c.end();
  }
});

test('with logStatements, statements land in the log file', async () => {
  const marker = `marker_${Date.now()}`;
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  await c.query(`SELECT '${marker}'`);
  await c.end();
  await server.flushLog();
  assert.match(readFileSync(server.logFile, 'utf8'), new RegExp(`statement: SELECT '${marker}'`));
});

test('stop leaves no postgres process behind and removes the data', async () => {
  const other = await startPostgres({ database: 'other' });
  const postmaster = pidOfPort(other.port);
  assert.ok(postmaster, 'postmaster pid found');
  const children = childrenOf(postmaster);
  assert.ok(children.length >= 3, `expected background workers, got ${children.length}`);
  await other.stop();
  for (const pid of [postmaster, ...children]) assert.equal(existsSync(`/proc/${pid}`), false, `pid ${pid} still alive`);
  assert.equal(existsSync(other.dataDir), false);
  await other.stop(); // idempotent
});

/** The postmaster is the process running the package's postgres binary with `-p <port>`. */
function pidOfPort(port: number): number | undefined {
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('/postgres') && cmd.includes(String(port))) return Number(p);
    } catch {
      // raced with an exiting process
    }
  }
  return undefined;
}

function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ')'.
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(p));
    } catch {
      // raced with an exiting process
    }
  }
  return out;
}
