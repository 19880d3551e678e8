// bench/db-change-key: pgbench TPC-B-like, 8 clients, through the instance's endpoint, while
// `rekey db change-key` moves the instance to a new KMS key (issue 14's must-show). Clients connect
// per transaction (-C): a byte-level endpoint cannot move an open session to the new server (see
// docs/DATABASES.md "Change key"). Reports failed transactions, pgbench's committed count against
// the rows pgbench_history gained, the longest transaction latency (pgbench's per-transaction log),
// the server-side hold of the cutover, and the key change's outcome. One pgbench thread per client
// (-j = -c): pgbench -C connects synchronously, so a thread whose next connection waits at the paused
// endpoint would stall the other clients of its thread mid-transaction, which real clients don't.
// The RDS path (snapshot -> copy under the new key -> restore -> repoint) on the same data is
// bench/db-rds-path (npm run bench:db-rds-path); docs/PERFORMANCE.md compares the two.
// Usage: node --import tsx bench/db-change-key/run.ts   (BENCH_SECONDS=60 pgbench run, BENCH_SCALE=5, BENCH_CLIENTS=8)
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer, TEST_CREDS } from '../../test/helpers/server.ts';
import { parsePgbench, run } from '../../test/helpers/proxy.ts';
import type { DbCallContext, DbInstance } from '../../src/db/api.ts';
import type { Identity } from '../../src/iam/identity.ts';
import pg from 'pg';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const SCALE = Number(process.env.BENCH_SCALE ?? 5);
const PASSWORD = 'bench-Password-1';
const pgbin = (name: string) => {
  const r = spawnSync('which', [name], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : `/usr/lib/postgresql/15/bin/${name}`;
};

const s = await startTestServer();
try {
  const account = s.bootstrap.rec.accountId ?? '000000000000';
  const root = { accountId: account, arn: `arn:aws:iam::${account}:root`, accessKeyId: TEST_CREDS.accessKeyId, type: 'Root', principalId: account, identityPolicies: [] } as unknown as Identity;
  const ctx: DbCallContext = { caller: root, requestId: 'bench', sourceIp: '127.0.0.1', secureTransport: false, userAgent: 'bench' };
  const kms = s.kmsClient();
  const keyA = (await kms.send(new CreateKeyCommand({ Description: 'old' }))).KeyMetadata!;
  const keyB = (await kms.send(new CreateKeyCommand({ Description: 'new' }))).KeyMetadata!;
  await s.db.service.create({
    id: 'bench', engine: 'postgres', engineVersion: '15', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app', masterUserPassword: PASSWORD,
    manageMasterUserPassword: false, storageEncrypted: true, kmsKeyId: keyA.KeyId!, dbName: 'bench', deletionProtection: false, tags: [],
  }, ctx);
  const settled = async (): Promise<DbInstance> => {
    for (;;) {
      const i = await s.db.service.get('bench');
      const rec = await s.barrier.getJSON<{ op?: unknown }>('db/instances/bench');
      if (i.status === 'available' && !rec?.value.op) return i;
      if (i.status === 'failed') throw new Error('instance failed');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const inst = await settled();
  const env = { PGHOST: inst.endpoint!.address, PGPORT: String(inst.endpoint!.port), PGUSER: 'app', PGPASSWORD: PASSWORD, PGDATABASE: 'bench' };
  const init = await run(pgbin('pgbench'), ['-i', '-q', '-s', String(SCALE)], env);
  if (init.code !== 0) throw new Error(`pgbench -i: ${init.stderr}`);
  const history = async () => {
    const c = new pg.Client({ host: inst.endpoint!.address, port: inst.endpoint!.port, user: 'app', password: PASSWORD, database: 'bench' });
    await c.connect();
    try {
      return Number((await c.query('SELECT count(*) AS n FROM pgbench_history')).rows[0].n);
    } finally {
      await c.end();
    }
  };
  const rowsBefore = await history();
  const logDir = mkdtempSync(join(tmpdir(), 'rekey-bench-ck-'));
  const load0 = loadavg()[0]!;
  const bench = run(pgbin('pgbench'), ['-C', '-c', String(CLIENTS), '-j', String(CLIENTS), '-T', String(SECONDS), '-n', '-l', '--log-prefix', join(logDir, 'tx')], env);
  await new Promise((r) => setTimeout(r, 3000));
  const t0 = Date.now();
  const { jobId } = await s.db.changeKey('bench', keyB.KeyId!, ctx);
  const messages = new Set<string>();
  const watch = setInterval(() => {
    void s.jobs.get(jobId).then((j) => { if (j?.progress?.message) messages.add(j.progress.message); });
  }, 100);
  const after = await settled();
  const changeMs = Date.now() - t0;
  clearInterval(watch);
  const result = parsePgbench(await bench);
  const rowsAfter = await history();
  // per-transaction log lines: client_id transaction_no time(us) script_no time_epoch time_us ...
  let longestUs = 0;
  for (const f of readdirSync(logDir)) {
    for (const line of readFileSync(join(logDir, f), 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (Number.isFinite(us) && us > longestUs) longestUs = us;
    }
  }
  const job = await s.jobs.get(jobId);
  const cut = [...messages].find((m) => m.startsWith('cut over')) ?? '(not seen)';
  console.log(`rekey db change-key under pgbench tpcb-like -C, ${CLIENTS} clients, scale ${SCALE}, ${SECONDS} s; ${cpus().length} cores, load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`);
  console.log(`  change-key took ${(changeMs / 1000).toFixed(1)} s; KmsKeyId ${after.kmsKeyId === keyB.Arn ? 'is the new key' : `is NOT the new key (${after.kmsKeyId})`}; endpoint ${JSON.stringify(after.endpoint) === JSON.stringify(inst.endpoint) ? 'unchanged' : 'CHANGED'}; job ${job?.state}: ${job?.progress?.message}`);
  console.log(`  ${cut}`);
  console.log(`  pgbench: ${result.processed} committed, ${result.failed} failed; pgbench_history gained ${rowsAfter - rowsBefore} rows (${rowsAfter - rowsBefore === result.processed ? 'matches' : 'MISMATCH'})`);
  console.log(`  longest transaction latency (pgbench -l): ${(longestUs / 1000).toFixed(0)} ms`);
  if (result.failed !== 0) console.log(result.stderr.slice(0, 800));
  // the promoted server's own account of the promotion (its log, on the new volume), with PostgreSQL's ms timestamps
  const dbDir = join(s.dataDir, 'db');
  for (const d of readdirSync(dbDir).filter((n) => /\.g\d+$/.test(n))) {
    const lines = readFileSync(join(dbDir, d, 'mnt', 'postgres.log'), 'utf8').split('\n');
    const from = lines.map((l) => /received (fast shutdown|promote) request/.test(l)).lastIndexOf(true);
    if (from >= 0) console.log(`  the new server's log from the cutover on (${d}):\n    ${lines.slice(from, from + 24).join('\n    ')}`);
  }
} finally {
  await s.cleanup();
}
