// bench/proxy: pgbench through rekey's proxy, through PgBouncer and directly, measured in one run.
// Workloads: select-only (-S) and TPC-B-like, at 16 and 64 clients; rekey and PgBouncer in session
// and transaction mode with the same pool sizes (session 64, transaction 16) and SCRAM client auth.
// PgBouncer is Debian's `pgbouncer`, started here; without it the PgBouncer rows are skipped.
// The machine is shared: every cell runs BENCH_ROUNDS times, targets interleaved round by round,
// and the median TPS is reported (each round's order rotates so no target always goes first).
// Usage: npm run bench:proxy   (BENCH_SECONDS=5 per run, BENCH_ROUNDS=3, BENCH_CLIENTS=16,64, BENCH_SCALE=10)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { validateTargets, type PoolMode } from '../../src/proxy/config.ts';
import { ProxyService } from '../../src/proxy/service.ts';
import { startPostgres } from '../../test/helpers/pg.ts';
import { createRole, parsePgbench, run, TestSecretSource } from '../../test/helpers/proxy.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENTS = (process.env.BENCH_CLIENTS ?? '16,64').split(',').map(Number);
const SCALE = Number(process.env.BENCH_SCALE ?? 10);
const POOL: Record<PoolMode, number> = { session: 64, transaction: 16 };

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function findPgbouncer(): string | undefined {
  for (const p of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer']) if (existsSync(p)) return p;
  const r = spawnSync('which', ['pgbouncer'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

async function startPgbouncer(bin: string, dir: string, mode: PoolMode, upstreamPort: number, database: string, password: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const ini = join(dir, `pgbouncer-${mode}.ini`);
  const users = join(dir, 'userlist.txt');
  writeFileSync(join(dir, `pgbouncer-${mode}.log`), '');
  chmodSync(join(dir, `pgbouncer-${mode}.log`), 0o666); // PgBouncer switches to the postgres user when started as root
  writeFileSync(users, `"app" "${password}"\n`, { mode: 0o644 });
  writeFileSync(ini, [
    '[databases]',
    `${database} = host=127.0.0.1 port=${upstreamPort} dbname=${database} user=app password=${password}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1', `listen_port = ${port}`, 'unix_socket_dir =',
    'auth_type = scram-sha-256', `auth_file = ${users}`,
    `pool_mode = ${mode}`, `default_pool_size = ${POOL[mode]}`, 'max_client_conn = 500', 'max_db_connections = 0',
    `logfile = ${join(dir, `pgbouncer-${mode}.log`)}`, 'log_connections = 0', 'log_disconnections = 0',
    ...(userInfo().uid === 0 ? ['user = postgres'] : []), // PgBouncer refuses to run as root
    '',
  ].join('\n'), { mode: 0o644 });
  const child = spawn(bin, [ini], { stdio: 'ignore' }); // it logs to its logfile
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true)); // port taken = listening
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (ok) return { port, child };
  }
  child.kill();
  throw new Error(`pgbouncer did not start (see ${join(dir, `pgbouncer-${mode}.log`)})`);
}

async function main(): Promise<void> {
  const pgb = findPgbouncer();
  if (!pgb) console.log('pgbouncer is not installed: PgBouncer rows are skipped. Install it with: apt-get update && apt-get install -y pgbouncer');
  const server = await startPostgres({ settings: { max_connections: '300' } });
  const dir = mkdtempSync(join(tmpdir(), 'rekey-bench-proxy-'));
  if (userInfo().uid === 0) chmodSync(dir, 0o755);
  const children: ChildProcess[] = [];
  let proxy: ProxyService | undefined;
  try {
    const password = await createRole(server, 'app');
    const env = { PGHOST: '127.0.0.1', PGUSER: 'app', PGPASSWORD: password, PGDATABASE: server.database, PGSSLMODE: 'disable' };
    const init = await run('pgbench', ['-i', '-q', '-s', String(SCALE), '-p', String(server.port)], env);
    if (init.code !== 0) throw new Error(init.stderr);
    const secrets = new TestSecretSource();
    secrets.set('app', 'app', password);
    const listen = { host: '127.0.0.1', port: 0 };
    const upstream = { host: '127.0.0.1', port: server.port };
    proxy = new ProxyService({
      secrets,
      targets: validateTargets((['session', 'transaction'] as const).map((mode) => ({ name: mode, listen, upstream, secretIds: ['app'], mode, poolSize: POOL[mode] }))),
    });
    await proxy.start();
    const targets: [string, number][] = [['direct', server.port], ['rekey session', proxy.address('session').port], ['rekey transaction', proxy.address('transaction').port]];
    if (pgb) {
      for (const mode of ['session', 'transaction'] as const) {
        const b = await startPgbouncer(pgb, dir, mode, server.port, server.database, password);
        children.push(b.child);
        targets.push([`pgbouncer ${mode}`, b.port]);
      }
    }
    console.log(`bench/proxy: pgbench ${SECONDS}s x ${ROUNDS} rounds per cell (median), scale ${SCALE}, -j 2, simple protocol; pools session ${POOL.session}, transaction ${POOL.transaction}; ${new Date().toISOString()}`);
    const tps = new Map<string, number>();
    for (const [workload, flags] of [['select-only', ['-S']], ['tpcb-like', []]] as const) {
      for (const clients of CLIENTS) {
        const samples = new Map<string, number[]>(targets.map(([n]) => [n, []]));
        for (let round = 0; round < ROUNDS; round++) {
          const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
          for (const [name, port] of order) {
            const r = parsePgbench(await run('pgbench', ['-n', ...flags, '-c', String(clients), '-j', '2', '-T', String(SECONDS), '-p', String(port)], env));
            const t = Number(/tps = ([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
            if (r.code !== 0 || r.failed !== 0) console.log(`  ${name}: pgbench failed (${r.failed} failed): ${r.stderr.split('\n').slice(0, 3).join(' | ')}`);
            samples.get(name)!.push(t);
          }
        }
        for (const [name] of targets) {
          const s = samples.get(name)!.sort((a, b) => a - b);
          const med = s[Math.floor(s.length / 2)]!;
          tps.set(`${workload}/${clients}/${name}`, med);
          console.log(`  ${workload.padEnd(11)} c=${String(clients).padEnd(3)} ${name.padEnd(22)} ${med.toFixed(0).padStart(7)} tps median of [${s.map((x) => x.toFixed(0)).join(', ')}]`);
        }
      }
    }
    console.log('\n| workload | clients | direct | rekey session | pgbouncer session | session ratio (goal >= 1.0) | rekey tx | pgbouncer tx | transaction ratio (goal >= 0.8) |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const workload of ['select-only', 'tpcb-like']) {
      for (const clients of CLIENTS) {
        const g = (n: string) => tps.get(`${workload}/${clients}/${n}`) ?? NaN;
        const f = (n: number) => (Number.isNaN(n) ? '-' : n.toFixed(0));
        const ratio = (a: number, b: number) => (Number.isNaN(a / b) ? '-' : (a / b).toFixed(2));
        console.log(`| ${workload} | ${clients} | ${f(g('direct'))} | ${f(g('rekey session'))} | ${f(g('pgbouncer session'))} | ${ratio(g('rekey session'), g('pgbouncer session'))} | ${f(g('rekey transaction'))} | ${f(g('pgbouncer transaction'))} | ${ratio(g('rekey transaction'), g('pgbouncer transaction'))} |`);
      }
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await proxy?.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
