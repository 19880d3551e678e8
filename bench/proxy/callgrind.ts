// Instructions (valgrind callgrind, user space) per pgbench transaction of rekey's proxy: a figure
// that other work on a shared machine does not move, unlike CPU time. Each variant runs in its own
// process under `valgrind --tool=callgrind --instr-atstart=no`; a warm-up pgbench run (half the
// transactions) goes through uninstrumented, then instrumentation is switched on
// (`callgrind_control -i on`) for the measured run only. The window still holds some JIT compilation.
// Usage: node --import tsx bench/proxy/callgrind.ts
//   BENCH_VARIANTS='base session,rekey session' (rekey = this checkout; base = BENCH_BASELINE=<dir>,
//   a checkout's src with node_modules linked), BENCH_TX=300 per client, BENCH_CLIENTS=16, BENCH_FLAGS=-S.
// Slow: ~5-10 minutes per variant at the defaults. PgBouncer is not measured (under valgrind it did not answer).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPostgres } from '../../test/helpers/pg.ts';
import { createRole, parsePgbench, run } from '../../test/helpers/proxy.ts';

const TX = Number(process.env.BENCH_TX ?? 300);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const FLAGS = (process.env.BENCH_FLAGS ?? '-S').split(' ').filter(Boolean);
const VARIANTS = (process.env.BENCH_VARIANTS ?? 'rekey session,rekey transaction').split(',');
const BASELINE = process.env.BENCH_BASELINE;

function listening(child: ChildProcess): Promise<number> {
  return new Promise((res, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`proxy exited (${code}) before listening: ${out}`)));
  });
}

/** The `totals:` line of a callgrind output file (the `summary:` line of a dump taken on request is 0). */
const totals = (file: string): number => Number(/^totals: (\d+)/m.exec(readFileSync(file, 'utf8'))?.[1] ?? 0);

async function main(): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'rekey-callgrind-'));
  chmodSync(out, 0o777);
  const server = await startPostgres({ settings: { max_connections: '300' } });
  try {
    const password = await createRole(server, 'app');
    const env = { PGHOST: '127.0.0.1', PGUSER: 'app', PGPASSWORD: password, PGDATABASE: server.database, PGSSLMODE: 'disable' };
    const init = await run('pgbench', ['-i', '-q', '-s', '10', '-p', String(server.port)], env);
    if (init.code !== 0) throw new Error(init.stderr);
    console.log(`bench/proxy/callgrind: pgbench ${FLAGS.join(' ')} -c ${CLIENTS} -j 2 -t ${TX} after a warm-up of -t ${Math.max(50, TX / 2)}; ${new Date().toISOString()}`);
    for (const variant of VARIANTS) {
      const [who, mode] = variant.split(' ') as [string, string];
      if (who === 'base' && !BASELINE) throw new Error('base variants need BENCH_BASELINE=<dir>');
      const tag = variant.replace(' ', '-');
      const child = spawn('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', '--instr-atstart=no', `--callgrind-out-file=${join(out, tag)}.cg`, process.execPath, '--import', 'tsx', resolve('bench/proxy/callgrind-target.ts')], {
        env: { ...process.env, REKEY_SRC: who === 'base' ? resolve(BASELINE!) : resolve('.'), MODE: mode, PGPORT: String(server.port), APP_PASSWORD: password },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const port = await listening(child);
      const pgbench = (t: number) => run('pgbench', ['-n', ...FLAGS, '-c', String(CLIENTS), '-j', '2', '-t', String(t), '-p', String(port)], env);
      await pgbench(Math.max(50, TX / 2));
      spawnSync('callgrind_control', ['-i', 'on', String(child.pid)]);
      const r = parsePgbench(await pgbench(TX));
      spawnSync('callgrind_control', ['-i', 'off', String(child.pid)]);
      spawnSync('callgrind_control', ['-d', String(child.pid)]);
      child.kill('SIGTERM');
      await new Promise((res) => child.on('exit', res));
      const ir = readdirSync(out).filter((f) => f.startsWith(`${tag}.cg`)).reduce((sum, f) => sum + totals(join(out, f)), 0);
      console.log(`  ${variant.padEnd(20)} ${(ir / r.processed).toFixed(0).padStart(8)} Ir/tx over ${r.processed} transactions (${r.failed} failed)`);
    }
  } finally {
    await server.stop();
    rmSync(out, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
