// bench/db: pgbench on an encrypted instance (gocryptfs volume under a KMS data key) against the same
// engine unencrypted, both created by rekey with the same class (shared_buffers = 25% of the class's
// memory, as RDS's default parameter group) and reached the same way (the instance endpoint), in one
// run. Workloads select-only (-S) and TPC-B-like; targets alternate round by round (the order flips
// each round) and the median TPS per cell is reported with the ratio encrypted / unencrypted.
// Usage: npm run bench:db   (BENCH_SECONDS=6 per run, BENCH_ROUNDS=3, BENCH_CLIENTS=8, BENCH_SCALE=10, BENCH_CLASS=db.t3.micro)
import { loadavg, cpus } from 'node:os';
import { spawnSync } from 'node:child_process';
import { startTestServer, TEST_CREDS } from '../../test/helpers/server.ts';
import { parsePgbench, run } from '../../test/helpers/proxy.ts';
import type { DbCallContext, DbInstance } from '../../src/db/api.ts';
import type { Identity } from '../../src/iam/identity.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const SCALE = Number(process.env.BENCH_SCALE ?? 10);
const CLASS = process.env.BENCH_CLASS ?? 'db.t3.micro';
const PASSWORD = 'bench-Password-1';

const pgbin = (name: string) => {
  const r = spawnSync('which', [name], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : `/usr/lib/postgresql/15/bin/${name}`;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const s = await startTestServer();
try {
  const account = s.bootstrap.rec.accountId ?? '000000000000';
  const root = { accountId: account, arn: `arn:aws:iam::${account}:root`, accessKeyId: TEST_CREDS.accessKeyId, type: 'Root', principalId: account, identityPolicies: [] } as unknown as Identity;
  const ctx: DbCallContext = { caller: root, requestId: 'bench', sourceIp: '127.0.0.1', secureTransport: false, userAgent: 'bench' };
  const common = { engine: 'postgres' as const, instanceClass: CLASS, allocatedStorageGiB: 20, masterUsername: 'app', masterUserPassword: PASSWORD, manageMasterUserPassword: false, dbName: 'bench', deletionProtection: false, tags: [] };
  await s.db.service.create({ ...common, id: 'enc', storageEncrypted: true }, ctx);
  await s.db.service.create({ ...common, id: 'plain', storageEncrypted: false }, ctx);
  const ready = async (id: string): Promise<DbInstance> => {
    for (;;) {
      const i = await s.db.service.get(id);
      if (i.status === 'available') return i;
      if (i.status === 'failed') throw new Error(`${id} failed`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const targets = { encrypted: await ready('enc'), unencrypted: await ready('plain') };
  const env = (i: DbInstance) => ({ PGHOST: i.endpoint!.address, PGPORT: String(i.endpoint!.port), PGUSER: 'app', PGPASSWORD: PASSWORD, PGDATABASE: 'bench' });
  for (const i of Object.values(targets)) {
    const r = await run(pgbin('pgbench'), ['-i', '-q', '-s', String(SCALE)], env(i));
    if (r.code !== 0) throw new Error(`pgbench -i: ${r.stderr}`);
  }
  // warm-up (not measured): the tables into shared_buffers / the page cache, as after any real start
  for (const i of Object.values(targets)) await run(pgbin('pgbench'), ['-S', '-c', String(CLIENTS), '-j', '2', '-T', '3', '-n'], env(i));
  const workloads = { 'select-only': ['-S'], 'tpcb-like': [] as string[] };
  const tps: Record<string, Record<string, number[]>> = {};
  const load: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [w, flags] of Object.entries(workloads)) {
      const order = round % 2 === 0 ? (['encrypted', 'unencrypted'] as const) : (['unencrypted', 'encrypted'] as const);
      for (const t of order) {
        const r = parsePgbench(await run(pgbin('pgbench'), [...flags, '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS), '-n'], env(targets[t])));
        if (r.failed !== 0 || !(r.processed > 0)) throw new Error(`pgbench ${w} ${t}: ${r.stderr.slice(0, 400)}`);
        ((tps[w] ??= {})[t] ??= []).push(r.processed / SECONDS);
        load.push(loadavg()[0]!);
      }
    }
  }
  console.log(`bench/db: ${CLASS}, scale ${SCALE}, ${CLIENTS} clients, ${SECONDS} s x ${ROUNDS} rounds, ${cpus().length} cores, load avg (1 min) during the run ${Math.min(...load).toFixed(2)}-${Math.max(...load).toFixed(2)}`);
  console.log('workload      encrypted TPS  unencrypted TPS  ratio  (goal >= 0.80)');
  for (const w of Object.keys(workloads)) {
    const e = median(tps[w]!.encrypted!);
    const u = median(tps[w]!.unencrypted!);
    console.log(`${w.padEnd(13)} ${e.toFixed(0).padStart(13)}  ${u.toFixed(0).padStart(15)}  ${(e / u).toFixed(2).padStart(5)}`);
  }
  for (const id of ['enc', 'plain']) await s.db.service.delete({ id, skipFinalSnapshot: true, deleteAutomatedBackups: true }, ctx);
  for (const id of ['enc', 'plain']) {
    while (await s.db.service.get(id).then(() => true, () => false)) await new Promise((r) => setTimeout(r, 200));
  }
} finally {
  await s.cleanup();
}
