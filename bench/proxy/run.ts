// bench/proxy: pgbench through rekey's proxy, through PgBouncer and directly, measured in one run.
// Workloads: select-only (-S) and TPC-B-like, at 16 and 64 clients; rekey and PgBouncer in session
// and transaction mode with the same pool sizes (session 64, transaction 16) and SCRAM client auth.
// PgBouncer is Debian's `pgbouncer`, started here; without it the PgBouncer rows are skipped.
// The machine is shared: every cell runs BENCH_ROUNDS times, targets interleaved round by round,
// and the median TPS is reported (each round's order rotates so no target always goes first).
// Usage: npm run bench:proxy   (BENCH_SECONDS=5 per run, BENCH_ROUNDS=3, BENCH_CLIENTS=16,64, BENCH_SCALE=10,
//        BENCH_WORKLOADS=select-only,tpcb-like, BENCH_TARGETS=direct,rekey session,... to run a subset, e.g. under --cpu-prof)
// Besides TPS, each proxy's CPU per transaction (median over rounds): rekey's from process.cpuUsage
// (this process runs the proxy and otherwise only waits for pgbench), PgBouncer's from
// /proc/<pid>/stat (utime + stime). CPU per transaction is the steadier figure on a shared machine.
// BENCH_BASELINE=<dir>: also runs the proxy of another checkout (e.g. `git archive <commit> src | tar -x -C <dir>`
// with node_modules linked) in this process as 'base session' / 'base transaction', interleaved with
// the others: before/after CPU per transaction in one run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const WORKLOADS = (process.env.BENCH_WORKLOADS ?? 'select-only,tpcb-like').split(',');
const ONLY = process.env.BENCH_TARGETS?.split(',');
const POOL: Record<PoolMode, number> = { session: 64, transaction: 16 };
const BASELINE = process.env.BENCH_BASELINE;

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU µs (user, system) used so far by the process behind a target: this process for rekey, the child for PgBouncer. */
function cpuMicros(pid: number | undefined): [number, number] {
  if (pid === undefined) {
    const u = process.cpuUsage();
    return [u.user, u.system];
  }
  // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, counted after the ')' of the name
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [(Number(f[11]) * 1e6) / CLK_TCK, (Number(f[12]) * 1e6) / CLK_TCK];
}

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
  let baseProxy: { close(): Promise<void> } | undefined;
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
    // name, port, whose CPU to count: null = none (direct), undefined = this process, a pid = PgBouncer
    let targets: [string, number, number | null | undefined][] = [['direct', server.port, null], ['rekey session', proxy.address('session').port, undefined], ['rekey transaction', proxy.address('transaction').port, undefined]];
    if (BASELINE) {
      const base = (await import(join(BASELINE, 'src/proxy/service.ts'))) as typeof import('../../src/proxy/service.ts');
      const baseConfig = (await import(join(BASELINE, 'src/proxy/config.ts'))) as typeof import('../../src/proxy/config.ts');
      const b = new base.ProxyService({
        secrets,
        targets: baseConfig.validateTargets((['session', 'transaction'] as const).map((mode) => ({ name: mode, listen, upstream, secretIds: ['app'], mode, poolSize: POOL[mode] }))),
      });
      await b.start();
      baseProxy = b;
      targets.push(['base session', b.address('session').port, undefined], ['base transaction', b.address('transaction').port, undefined]);
    }
    if (pgb) {
      for (const mode of ['session', 'transaction'] as const) {
        const b = await startPgbouncer(pgb, dir, mode, server.port, server.database, password);
        children.push(b.child);
        targets.push([`pgbouncer ${mode}`, b.port, b.child.pid]);
      }
    }
    if (ONLY) targets = targets.filter(([n]) => ONLY.includes(n));
    console.log(`bench/proxy: pgbench ${SECONDS}s x ${ROUNDS} rounds per cell (median), scale ${SCALE}, -j 2, simple protocol; pools session ${POOL.session}, transaction ${POOL.transaction}; ${new Date().toISOString()}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    const tps = new Map<string, number>();
    const cpu = new Map<string, number>();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (const [workload, flags] of ([['select-only', ['-S']], ['tpcb-like', []]] as const).filter(([w]) => WORKLOADS.includes(w))) {
      for (const clients of CLIENTS) {
        const samples = new Map<string, number[]>(targets.map(([n]) => [n, []]));
        const cpuSamples = new Map<string, number[]>(targets.map(([n]) => [n, []]));
        const sysSamples = new Map<string, number[]>(targets.map(([n]) => [n, []]));
        for (let round = 0; round < ROUNDS; round++) {
          const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
          for (const [name, port, pid] of order) {
            const cpu0: [number, number] = pid === null ? [0, 0] : cpuMicros(pid);
            const r = parsePgbench(await run('pgbench', ['-n', ...flags, '-c', String(clients), '-j', '2', '-T', String(SECONDS), '-p', String(port)], env));
            if (pid !== null) {
              const [user, sys] = cpuMicros(pid);
              cpuSamples.get(name)!.push((user - cpu0[0] + sys - cpu0[1]) / r.processed);
              sysSamples.get(name)!.push((sys - cpu0[1]) / r.processed);
            }
            const t = Number(/tps = ([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
            if (r.code !== 0 || r.failed !== 0) console.log(`  ${name}: pgbench failed (${r.failed} failed): ${r.stderr.split('\n').slice(0, 3).join(' | ')}`);
            samples.get(name)!.push(t);
          }
        }
        for (const [name, , pid] of targets) {
          const s = samples.get(name)!.sort((a, b) => a - b);
          const med = median(s);
          tps.set(`${workload}/${clients}/${name}`, med);
          const c = cpuSamples.get(name)!;
          if (pid !== null) cpu.set(`${workload}/${clients}/${name}`, median(c));
          const cpuText = pid === null ? '' : `; proxy CPU ${median(c).toFixed(1)} µs/tx median of [${c.map((x) => x.toFixed(1)).join(', ')}], of which system [${sysSamples.get(name)!.map((x) => x.toFixed(1)).join(', ')}]`;
          console.log(`  ${workload.padEnd(11)} c=${String(clients).padEnd(3)} ${name.padEnd(22)} ${med.toFixed(0).padStart(7)} tps median of [${s.map((x) => x.toFixed(0)).join(', ')}]${cpuText}`);
        }
      }
    }
    console.log('\n| workload | clients | direct | rekey session | pgbouncer session | session ratio (goal >= 1.0) | rekey tx | pgbouncer tx | transaction ratio (goal >= 0.8) |');
    console.log('|---|---|---|---|---|---|---|---|---|');
    const f = (n: number) => (Number.isNaN(n) ? '-' : n.toFixed(0));
    const ratio = (a: number, b: number) => (Number.isNaN(a / b) ? '-' : (a / b).toFixed(2));
    for (const workload of WORKLOADS) {
      for (const clients of CLIENTS) {
        const g = (n: string) => tps.get(`${workload}/${clients}/${n}`) ?? NaN;
        console.log(`| ${workload} | ${clients} | ${f(g('direct'))} | ${f(g('rekey session'))} | ${f(g('pgbouncer session'))} | ${ratio(g('rekey session'), g('pgbouncer session'))} | ${f(g('rekey transaction'))} | ${f(g('pgbouncer transaction'))} | ${ratio(g('rekey transaction'), g('pgbouncer transaction'))} |`);
      }
    }
    console.log(`\nload average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    console.log('\nproxy CPU per transaction (µs, median over rounds; rekey: process.cpuUsage, PgBouncer: /proc/<pid>/stat)\n');
    console.log(`| workload | clients | rekey session | pgbouncer session | rekey tx | pgbouncer tx |${BASELINE ? ' base session | base tx |' : ''}`);
    console.log(`|---|---|---|---|---|---|${BASELINE ? '---|---|' : ''}`);
    const c1 = (n: number) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(1));
    for (const workload of WORKLOADS) {
      for (const clients of CLIENTS) {
        const g = (n: string) => cpu.get(`${workload}/${clients}/${n}`) ?? NaN;
        console.log(`| ${workload} | ${clients} | ${c1(g('rekey session'))} | ${c1(g('pgbouncer session'))} | ${c1(g('rekey transaction'))} | ${c1(g('pgbouncer transaction'))} |${BASELINE ? ` ${c1(g('base session'))} | ${c1(g('base transaction'))} |` : ''}`);
      }
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await proxy?.close();
    await baseProxy?.close();
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
