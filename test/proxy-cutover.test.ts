// Pause / switch / resume between two real PostgreSQL servers under pgbench load: in-flight
// transactions finish, new ones wait, then go to the new server. Expected: 0 failed transactions,
// transactions land on the second server after the switch; the longest stall is printed. Then the
// one-call cutover (ProxyService.cutover): its stall, measured on the server, equals status(); the
// upstream it stores in the barrier survives a restart and reaches another node; failures roll back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { validateTargets } from '../src/proxy/config.ts';
import { ProxyService, type ProxyEvent } from '../src/proxy/service.ts';
import { testBarrier } from '../src/audit/testing.ts';
import { barrierUpstreams } from '../src/server/proxy.ts';
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
  const fromA = await historyCount(a);
  const runs = Promise.all([bench('session'), bench('tx')]);
  // cut over once transactions flow through both targets' first server
  for (const deadline = Date.now() + 20_000; (await historyCount(a)) < fromA + 50;) {
    assert.ok(Date.now() < deadline, 'no transactions reached the first server');
    await new Promise((r) => setTimeout(r, 50));
  }
  const stalls: string[] = [];
  for (const [name, to] of [['session', b], ['tx', b]] as const) {
    const t0 = Date.now();
    const { drainedMs } = await proxy.pause(name, 10_000);
    proxy.switch(name, { host: '127.0.0.1', port: to.port });
    const resumed = proxy.resume(name);
    // what resume reports is what status shows (it once printed 0 while status had the real stall)
    assert.equal(resumed.stallMs, proxy.status().find((t) => t.name === name)!.lastStallMs);
    stalls.push(`${name}: drained in ${drainedMs} ms, paused ${Date.now() - t0} ms, resume reported a stall of ${resumed.stallMs} ms`);
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

test('one cutover call under pgbench: 0 failed, stall measured on the server and equal to status; upstream stored; a restart and another node keep it', async () => {
  const { barrier } = await testBarrier();
  const upstreams = barrierUpstreams(barrier);
  const own: ProxyEvent[] = [];
  const cfg = (port: number) => validateTargets([{ name: 'app', mode: 'transaction', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port }, secretIds: ['app'], poolSize: 8 }]);
  const node1 = new ProxyService({ secrets, upstreams, onEvent: (e) => own.push(e), targets: cfg(a.port) });
  const node2 = new ProxyService({ secrets, upstreams, syncIntervalMs: 100, targets: cfg(a.port) });
  await Promise.all([node1.start(), node2.start()]);
  try {
    const env = { PGHOST: '127.0.0.1', PGUSER: 'app', PGPASSWORD: password, PGDATABASE: a.database, PGSSLMODE: 'disable' };
    const h0 = await historyCount(a);
    const runs = run('pgbench', ['-n', '-c', '8', '-j', '2', '-T', '5', '-p', String(node1.address('app').port)], env).then(parsePgbench);
    // cut over once transactions are flowing through the proxy (an event, not a fixed wait)
    for (let i = 0; i < 200 && (await historyCount(a)) < h0 + 100; i++) await new Promise((res) => setTimeout(res, 25));
    const r = await node1.cutover('app', { host: '127.0.0.1', port: b.port }, 10_000);
    const bench = await runs;
    const st = node1.status()[0]!;
    console.log(`one-call cutover: drained ${r.drainedMs} ms, paused ${r.pausedMs} ms, longest client stall ${r.stallMs} ms (status: last ${st.lastStallMs} ms, longest ${st.longestStallMs} ms); ${bench.processed} tx / ${bench.failed} failed`);
    assert.equal(bench.code, 0, bench.stderr + bench.stdout);
    assert.equal(bench.failed, 0);
    assert.ok(bench.processed > 0);
    assert.ok(r.stallMs > 0, `stall ${r.stallMs}`);
    assert.equal(st.lastStallMs, r.stallMs);
    assert.equal(st.longestStallMs, r.stallMs);
    assert.deepEqual([r.from, r.to, st.upstream, st.paused], [{ host: '127.0.0.1', port: a.port }, { host: '127.0.0.1', port: b.port }, { host: '127.0.0.1', port: b.port }, false]);
    const ev = own.find((e) => e.type === 'cutover' && e.action === 'cutover');
    assert.ok(ev && ev.type === 'cutover' && ev.stallMs === r.stallMs, 'the ProxyCutover event carries the same stall');
    assert.deepEqual(await upstreams.load('app'), { host: '127.0.0.1', port: b.port });
    // another node re-reads the store (every syncIntervalMs) and moves too
    for (let i = 0; i < 50 && node2.status()[0]!.upstream.port !== b.port; i++) await new Promise((res) => setTimeout(res, 100));
    assert.equal(node2.status()[0]!.upstream.port, b.port);
  } finally {
    await Promise.all([node1.close(), node2.close()]);
  }
  // a restart: the configuration still says server a, the store says b
  const restarted = new ProxyService({ secrets, upstreams, targets: cfg(a.port) });
  await restarted.start();
  try {
    assert.deepEqual(restarted.status()[0]!.upstream, { host: '127.0.0.1', port: b.port });
    const c = new pg.Client({ host: '127.0.0.1', port: restarted.address('app').port, user: 'app', password, database: a.database });
    await c.connect();
    try {
      assert.equal((await c.query('SHOW port')).rows[0].port, String(b.port));
    } finally {
      await c.end();
    }
  } finally {
    await restarted.close();
  }
});

test('cutover: an audit gate that fails changes nothing; a failed store write rolls back to the old upstream', async () => {
  const { barrier } = await testBarrier();
  const good = barrierUpstreams(barrier);
  const own: ProxyEvent[] = [];
  const failing = { load: good.load, save: async () => { throw new Error('store unavailable'); } };
  const p = new ProxyService({ secrets, upstreams: failing, onEvent: (e) => own.push(e), targets: validateTargets([{ name: 'app', mode: 'transaction', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: a.port }, secretIds: ['app'] }]) });
  await p.start();
  try {
    await assert.rejects(p.forCall({ pass: () => Promise.reject(new Error('audit log unavailable')) }).cutover('app', { host: '127.0.0.1', port: b.port }), { name: 'Error', message: 'audit log unavailable' });
    assert.equal(own.length, 0, "no event: nothing happened");
    await assert.rejects(p.cutover('app', { host: '127.0.0.1', port: b.port }, 1000), { name: 'Error', message: 'store unavailable' });
    const st = p.status()[0]!;
    assert.deepEqual([st.upstream, st.paused], [{ host: '127.0.0.1', port: a.port }, false]);
    assert.deepEqual(own.filter((e) => e.type === 'cutover').map((e) => e.type === 'cutover' && e.action), ['pause', 'switch', 'resume', 'cutover-failed']);
    const c = new pg.Client({ host: '127.0.0.1', port: p.address('app').port, user: 'app', password, database: a.database });
    await c.connect();
    try {
      assert.equal((await c.query('SHOW port')).rows[0].port, String(a.port));
    } finally {
      await c.end();
    }
    await assert.rejects(p.cutover('app', { host: '127.0.0.1', port: 0 }), { name: 'ValidationException', message: 'endpoint must be {host, port} with port in [1, 65535]' });
  } finally {
    await p.close();
  }
});
