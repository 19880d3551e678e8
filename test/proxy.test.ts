// The proxy against a real PostgreSQL (scram-sha-256): node-postgres (simple + extended), psql
// (COPY in/out), NOTIFY, CancelRequest, pgbench, transaction-mode pooling and pinning.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import pg from 'pg';
import { validateTargets } from '../src/proxy/config.ts';
import { cancelRequest } from '../src/proxy/protocol.ts';
import { ProxyService, type ProxyEvent } from '../src/proxy/service.ts';
import { startPostgres, type StartedPostgres } from './helpers/pg.ts';
import { createRole, parsePgbench, run, TestSecretSource } from './helpers/proxy.ts';

describe('proxy: protocol and pooling against real PostgreSQL', () => {
  let server: StartedPostgres;
  let proxy: ProxyService;
  let password: string;
  const secrets = new TestSecretSource();
  const events: ProxyEvent[] = [];
  const port = (name: string) => proxy.address(name).port;
  const client = (name: string, extra: Partial<pg.ClientConfig> = {}) =>
    new pg.Client({ host: '127.0.0.1', port: port(name), user: 'app', password, database: server.database, ...extra });

  before(async () => {
    server = await startPostgres();
    password = await createRole(server, 'app');
    secrets.set('app-secret', 'app', password);
    const upstream = { host: '127.0.0.1', port: server.port };
    const listen = { host: '127.0.0.1', port: 0 };
    proxy = new ProxyService({
      secrets,
      onEvent: (e) => events.push(e),
      targets: validateTargets([
        { name: 'session', listen, upstream, secretIds: ['app-secret'], mode: 'session', poolSize: 10 },
        { name: 'tx', listen, upstream, secretIds: ['app-secret'], mode: 'transaction', poolSize: 4 },
        { name: 'tx1', listen, upstream, secretIds: ['app-secret'], mode: 'transaction', poolSize: 1, borrowTimeoutMs: 400 },
      ]),
    });
    await proxy.start();
  });

  after(async () => {
    await proxy?.close();
    await server?.stop();
  });

  test('pg: simple and extended queries, named prepared statements, errors stay in the session', async () => {
    for (const name of ['session', 'tx']) {
      const c = client(name);
      await c.connect();
      try {
        assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1);
        const r = await c.query('SELECT $1::int + $2::int AS sum, current_user AS u', [40, 2]);
        assert.deepEqual(r.rows[0], { sum: 42, u: 'app' });
        const named = await c.query({ name: 'q1', text: 'SELECT $1::text AS t', values: ['x'] });
        assert.equal(named.rows[0].t, 'x');
        await assert.rejects(c.query('SELECT * FROM no_such_table'), (e: Error & { code?: string }) => e.code === '42P01' && /no_such_table/.test(e.message));
        await c.query('BEGIN');
        await c.query('CREATE TABLE IF NOT EXISTS t_' + name + ' (a int)');
        await c.query('INSERT INTO t_' + name + ' VALUES (1), (2)');
        await c.query('COMMIT');
        assert.equal((await c.query('SELECT count(*)::int AS n FROM t_' + name)).rows[0].n, 2);
      } finally {
        await c.end();
      }
    }
  });

  test('start-up parameters (application_name with quote and backslash, DateStyle) are applied on every server the client gets', async () => {
    for (const name of ['session', 'tx']) {
      const appName = "it's a \\ test; --";
      const c = client(name, { application_name: appName, options: undefined });
      await c.connect();
      const other = client(name, { application_name: 'other' });
      await other.connect();
      try {
        for (let i = 0; i < 3; i++) {
          assert.equal((await c.query("SELECT current_setting('application_name') AS a")).rows[0].a, appName);
          assert.equal((await other.query("SELECT current_setting('application_name') AS a")).rows[0].a, 'other');
        }
      } finally {
        await c.end();
        await other.end();
      }
    }
  });

  test('client authentication: wrong password and unknown user get 28P01; events are recorded without passwords', async () => {
    const bad = client('session', { password: 'wrong-password' });
    await assert.rejects(bad.connect(), (e: Error & { code?: string }) => e.code === '28P01' && e.message === 'password authentication failed for user "app"');
    const nobody = client('session', { user: 'nobody', password: 'x' });
    await assert.rejects(nobody.connect(), (e: Error & { code?: string }) => e.code === '28P01' && e.message === 'password authentication failed for user "nobody"');
    const fails = events.filter((e) => e.type === 'client-auth' && !e.ok);
    assert.ok(fails.some((e) => e.type === 'client-auth' && e.user === 'nobody'));
    assert.ok(!JSON.stringify(events).includes(password));
  });

  test('psql: COPY FROM STDIN and COPY TO STDOUT through the proxy', async () => {
    const env = { PGHOST: '127.0.0.1', PGPORT: String(port('session')), PGUSER: 'app', PGPASSWORD: password, PGDATABASE: server.database, PGSSLMODE: 'disable' };
    let r = await run('psql', ['-v', 'ON_ERROR_STOP=1', '-c', 'CREATE TABLE copy_t (a int, b text)'], env);
    assert.equal(r.code, 0, r.stderr);
    const rows = Array.from({ length: 1000 }, (_, i) => `${i}\trow ${i}`).join('\n') + '\n';
    r = await run('psql', ['-v', 'ON_ERROR_STOP=1', '-c', 'COPY copy_t FROM STDIN'], env, rows);
    assert.equal(r.code, 0, r.stderr);
    r = await run('psql', ['-v', 'ON_ERROR_STOP=1', '-At', '-c', 'COPY (SELECT * FROM copy_t ORDER BY a) TO STDOUT'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, rows);
    for (const name of ['tx']) {
      r = await run('psql', ['-v', 'ON_ERROR_STOP=1', '-At', '-c', 'SELECT count(*) FROM copy_t'], { ...env, PGPORT: String(port(name)) });
      assert.equal(r.stdout.trim(), '1000', r.stderr);
    }
  });

  test('NOTIFY reaches a LISTENing client (session mode, and transaction mode where LISTEN pins)', async () => {
    for (const name of ['session', 'tx']) {
      const listener = client(name);
      const notifier = client(name);
      await listener.connect();
      await notifier.connect();
      try {
        const got = new Promise<pg.Notification>((resolve) => listener.on('notification', resolve));
        await listener.query('LISTEN rekey_chan');
        await notifier.query("NOTIFY rekey_chan, 'hello'");
        const n = await got;
        assert.equal(n.channel, 'rekey_chan');
        assert.equal(n.payload, 'hello');
      } finally {
        await listener.end();
        await notifier.end();
      }
    }
  });

  test('CancelRequest with the proxy-issued key cancels the query on the server connection', async () => {
    for (const name of ['session', 'tx']) {
      const c = client(name);
      await c.connect();
      try {
        const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
        const q = c.query('SELECT pg_sleep(30)');
        await new Promise((r) => setTimeout(r, 300));
        // a wrong key is ignored
        await sendCancel(port(name), processID, (secretKey + 1) >>> 0);
        await sendCancel(port(name), processID, secretKey);
        await assert.rejects(q, (e: Error & { code?: string }) => e.code === '57014' && /canceling statement due to user request/.test(e.message));
        assert.equal((await c.query('SELECT 2 AS two')).rows[0].two, 2);
      } finally {
        await c.end();
      }
    }
  });

  test('transaction mode: clients share server connections; SET pins; a full pool gives a clear error', async () => {
    const a = client('tx1');
    const b = client('tx1');
    b.on('error', () => {}); // the borrow timeout is FATAL: b's connection ends
    await a.connect();
    await b.connect();
    try {
      const pa = (await a.query('SELECT pg_backend_pid() AS p')).rows[0].p;
      const pb = (await b.query('SELECT pg_backend_pid() AS p')).rows[0].p;
      assert.equal(pa, pb, 'one server connection serves both clients');
      await a.query('SET search_path TO public'); // pins a to the only server
      await assert.rejects(b.query('SELECT 1'), (e: Error & { code?: string }) => e.code === '53300' && /no server connection for rekey_test\/app within 400 ms \(pool size 1\)/.test(e.message));
      assert.equal((await a.query('SELECT 3 AS three')).rows[0].three, 3);
    } finally {
      await a.end();
      await b.end().catch(() => {});
    }
    // a's server came back (after DISCARD ALL): a new client gets it, without a's settings
    const c = client('tx1');
    await c.connect();
    try {
      assert.equal((await c.query('SELECT 4 AS four')).rows[0].four, 4);
      const m = proxy.status().find((t) => t.name === 'tx1')!.pools[0]!;
      assert.equal(m.borrowTimeouts, 1);
      assert.equal(m.serverLogins, 1);
    } finally {
      await c.end();
    }
  });

  test('a pooled server connection killed while idle is dropped; the next transaction gets a fresh one', async () => {
    const c = client('tx');
    await c.connect();
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      const before = (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p;
      const killed = await admin.query("SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE usename = 'app' AND pid <> pg_backend_pid()");
      assert.ok(killed.rows.length >= 1);
      await new Promise((r) => setTimeout(r, 200)); // the FATAL reaches the idle connection, which closes
      const after = (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p;
      assert.notEqual(after, before);
    } finally {
      await admin.end();
      await c.end();
    }
  });

  test('pgbench (TPC-B-like) through the proxy in session and transaction mode: 0 failed transactions', async () => {
    const env = { PGHOST: '127.0.0.1', PGUSER: 'app', PGPASSWORD: password, PGDATABASE: server.database, PGSSLMODE: 'disable' };
    const init = await run('pgbench', ['-i', '-q', '-s', '1', '-p', String(server.port)], env);
    assert.equal(init.code, 0, init.stderr);
    for (const name of ['session', 'tx']) {
      for (const extra of [[], ['-C']]) {
        const r = parsePgbench(await run('pgbench', ['-n', '-c', '4', '-j', '2', '-t', '50', '-p', String(port(name)), ...extra], env));
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.equal(r.failed, 0);
        assert.equal(r.processed, 200);
      }
    }
  });
});

function sendCancel(port: number, pid: number, secret: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.end(cancelRequest(pid, secret)));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}
