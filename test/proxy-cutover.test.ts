// Pause / switch / resume between two real PostgreSQL servers under pgbench load: in-flight
// transactions finish, new ones wait, then go to the new server. Expected: 0 failed transactions,
// transactions land on the second server after the switch; the longest stall is printed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { validateTargets } from '../src/proxy/config.ts';
import { ProxyService, type ProxyEvent } from '../src/proxy/service.ts';
import { startPostgres, type StartedPostgres } from './helpers/pg.ts';
import { createRole, parsePgbench, run, setRolePassword, TestSecretSource } from './helpers/proxy.ts';

let a: StartedPostgres;
let b: StartedPostgres;
let proxy: ProxyService;
let password: string;
const secrets = new TestSecretSource();
const events: ProxyEvent[] = [];

async function historyCount(s: StartedPostgres): Promise<number> {
  const c = new pg.Client({ host: '127.0.0.1', port: s.port, user: 'app', password, database: s.database });
  await c.connect();
  try {
    return (await c.query('SELECT count(*)::int AS n FROM pgbench_history')).rows[0].n;
  } finally {
    await c.end();
  }
}

before(async () => {
  [a, b] = await Promise.all([startPostgres(), startPostgres()]);
  password = await createRole(a, 'app');
  await createRole(b, 'app');
  await setRolePassword(b, 'app', password);
  secrets.set('app', 'app', password);
  for (const s of [a, b]) {
    const r = await run('pgbench', ['-i', '-q', '-s', '1', '-p', String(s.port)], { PGHOST: '127.0.0.1', PGUSER: 'app', PGPASSWORD: password, PGDATABASE: s.database, PGSSLMODE: 'disable' });
    assert.equal(r.code, 0, r.stderr);
  }
  const common = { listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: a.port }, secretIds: ['app'], poolSize: 8 };
  proxy = new ProxyService({ secrets, onEvent: (e) => events.push(e), targets: validateTargets([{ name: 'session', mode: 'session', ...common }, { name: 'tx', mode: 'transaction', ...common }]) });
  await proxy.start();
});

after(async () => {
  await proxy?.close();
  await Promise.all([a?.stop(), b?.stop()]);
});

test('switch needs a pause; bad endpoints are refused', async () => {
  assert.throws(() => proxy.switch('tx', { host: '127.0.0.1', port: b.port }), { name: 'ValidationException', message: 'switch needs a paused target (pause first)' });
  assert.throws(() => proxy.switch('tx', { host: '127.0.0.1', port: 0 }), { name: 'ValidationException', message: 'endpoint must be {host, port} with port in [1, 65535]' });
  await assert.rejects(proxy.pause('nope'), { name: 'NotFoundException', message: 'proxy target nope does not exist' });
});

test('pause / switch / resume under pgbench (session and transaction mode): 0 failed, new transactions reach the new server', async () => {
  const env = { PGHOST: '127.0.0.1', PGUSER: 'app', PGPASSWORD: password, PGDATABASE: a.database, PGSSLMODE: 'disable' };
  const bench = (name: string) => run('pgbench', ['-n', '-c', '4', '-j', '2', '-T', '6', '-p', String(proxy.address(name).port)], env).then(parsePgbench);
  const before = await historyCount(b);
  const runs = Promise.all([bench('session'), bench('tx')]);
  await new Promise((r) => setTimeout(r, 2000));
  const stalls: string[] = [];
  for (const [name, to] of [['session', b], ['tx', b]] as const) {
    const t0 = Date.now();
    const { drainedMs } = await proxy.pause(name, 10_000);
    proxy.switch(name, { host: '127.0.0.1', port: to.port });
    proxy.resume(name);
    stalls.push(`${name}: drained in ${drainedMs} ms, paused ${Date.now() - t0} ms`);
  }
  const [session, tx] = await runs;
  const st = proxy.status();
  const longest = Math.max(...st.map((t) => t.longestStallMs));
  console.log(`cutover: ${stalls.join('; ')}; longest client stall ${longest} ms; session ${session.processed} tx / ${session.failed} failed; transaction ${tx.processed} tx / ${tx.failed} failed`);
  for (const r of [session, tx]) {
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(r.failed, 0);
    assert.ok(r.processed > 0);
  }
  for (const t of st) {
    assert.equal(t.upstream.port, b.port);
    assert.equal(t.generation, 1);
    assert.equal(t.paused, false);
  }
  assert.ok((await historyCount(b)) > before, 'transactions ran on the new server after the switch');
  assert.deepEqual(events.filter((e) => e.type === 'cutover').map((e) => e.type === 'cutover' && `${e.target}:${e.action}`), ['session:pause', 'session:switch', 'session:resume', 'tx:pause', 'tx:switch', 'tx:resume']);
});

test('pause times out while a transaction stays open, resumes, and the client is unharmed', async () => {
  const c = new pg.Client({ host: '127.0.0.1', port: proxy.address('tx').port, user: 'app', password, database: a.database });
  await c.connect();
  try {
    await c.query('BEGIN');
    await assert.rejects(proxy.pause('tx', 200), { name: 'ValidationException', message: 'pause timed out after 200 ms: 1 transaction(s) still in flight; resumed' });
    assert.equal(proxy.status().find((t) => t.name === 'tx')!.paused, false);
    assert.equal((await c.query('SELECT 5 AS five')).rows[0].five, 5);
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
});
