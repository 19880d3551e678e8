// bench/db-rds-path: the RDS way to move a database to a new KMS key, timed on the data
// bench/db-change-key uses (pgbench scale 5 by default), through the real @aws-sdk/client-rds against
// a started rekey server (as test/db-snapshots.test.ts drives it): CreateDBSnapshot -> CopyDBSnapshot
// with the new KmsKeyId -> RestoreDBInstanceFromDBSnapshot -> repoint. RDS cannot change a live
// instance's key, so writes must stop when the snapshot starts (anything written after it would be
// lost) and can resume only when the application reaches the restored instance: that span is the
// write downtime printed at the end, to compare with `rekey db change-key`'s cutover hold
// (docs/PERFORMANCE.md). Each phase is timed from its API call until DescribeDB* reports it done
// (polled every 100 ms); "repoint" ends when the restored endpoint answers a query with the rows the
// source had. The application's own reconfiguration (DNS, config, restarts) is not counted: the
// figure is a lower bound of RDS-path downtime on this machine.
// Usage: npm run bench:db-rds-path   (BENCH_SCALE=5)
import { cpus, loadavg } from 'node:os';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import * as R from '@aws-sdk/client-rds';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { startTestServer } from '../../test/helpers/server.ts';
import { rdsClient } from '../../test/helpers/rds.ts';
import { run } from '../../test/helpers/proxy.ts';

const SCALE = Number(process.env.BENCH_SCALE ?? 5);
const PASSWORD = 'bench-Password-1';
const pgbin = (name: string) => {
  const r = spawnSync('which', [name], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : `/usr/lib/postgresql/15/bin/${name}`;
};
const seconds = (ms: number) => (ms / 1000).toFixed(1);

const s = await startTestServer();
try {
  const rds = rdsClient(s);
  const kms = s.kmsClient();
  const keyA = (await kms.send(new CreateKeyCommand({ Description: 'old' }))).KeyMetadata!;
  const keyB = (await kms.send(new CreateKeyCommand({ Description: 'new' }))).KeyMetadata!;
  const instance = async (id: string) => (await rds.send(new R.DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!;
  const snapshot = async (id: string) => (await rds.send(new R.DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }))).DBSnapshots![0]!;
  const until = async <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, failed: (v: T) => boolean = () => false): Promise<T> => {
    const end = Date.now() + 1_800_000;
    for (;;) {
      const v = await get();
      if (ok(v)) return v;
      if (failed(v) || Date.now() > end) throw new Error(`${what}: ${JSON.stringify(v).slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const counts = async (port: number) => {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'app', password: PASSWORD, database: 'bench', connectionTimeoutMillis: 2000 });
    await c.connect();
    try {
      const r = await c.query('SELECT (SELECT count(*) FROM pgbench_accounts)::int AS accounts, (SELECT sum(abalance) FROM pgbench_accounts)::bigint AS balance, (SELECT count(*) FROM pgbench_history)::int AS history');
      return r.rows[0] as { accounts: number; balance: string; history: number };
    } finally {
      await c.end().catch(() => {});
    }
  };

  await rds.send(new R.CreateDBInstanceCommand({
    DBInstanceIdentifier: 'rds-path', Engine: 'postgres', EngineVersion: '15', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app',
    MasterUserPassword: PASSWORD, DBName: 'bench', StorageEncrypted: true, KmsKeyId: keyA.KeyId,
  }));
  const src = await until('source available', () => instance('rds-path'), (i) => i.DBInstanceStatus === 'available', (i) => i.DBInstanceStatus === 'failed');
  const env = { PGHOST: '127.0.0.1', PGPORT: String(src.Endpoint!.Port), PGUSER: 'app', PGPASSWORD: PASSWORD, PGDATABASE: 'bench' };
  const init = await run(pgbin('pgbench'), ['-i', '-q', '-s', String(SCALE)], env);
  if (init.code !== 0) throw new Error(`pgbench -i: ${init.stderr}`);
  // some history rows too, so "the same rows" covers a table that transactions write
  const warm = await run(pgbin('pgbench'), ['-n', '-c', '4', '-t', '200'], env);
  if (warm.code !== 0) throw new Error(`pgbench: ${warm.stderr}`);
  const before = await counts(src.Endpoint!.Port!);
  const load0 = loadavg()[0]!;

  // writes stop here: from now on the application must not write to the source
  const t0 = Date.now();
  await rds.send(new R.CreateDBSnapshotCommand({ DBSnapshotIdentifier: 'rds-path-a', DBInstanceIdentifier: 'rds-path' }));
  await until('snapshot', () => snapshot('rds-path-a'), (x) => x.Status === 'available', (x) => x.Status === 'failed');
  const t1 = Date.now();
  await rds.send(new R.CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: 'rds-path-a', TargetDBSnapshotIdentifier: 'rds-path-b', KmsKeyId: keyB.KeyId }));
  const copy = await until('copy', () => snapshot('rds-path-b'), (x) => x.Status === 'available', (x) => x.Status === 'failed');
  const t2 = Date.now();
  await rds.send(new R.RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: 'rds-path-new', DBSnapshotIdentifier: 'rds-path-b' }));
  const restored = await until('restore', () => instance('rds-path-new'), (i) => i.DBInstanceStatus === 'available', (i) => i.DBInstanceStatus === 'failed');
  const t3 = Date.now();
  // repoint: the application's next connection goes to the restored endpoint; it counts once that answers
  const after = await until('restored answers', () => counts(restored.Endpoint!.Port!).catch((e: Error) => ({ error: e.message })), (v) => !('error' in v));
  const t4 = Date.now();

  const same = JSON.stringify(after) === JSON.stringify(before);
  console.log(`bench/db-rds-path ${new Date().toISOString()}  ${cpus().length} cores, load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`);
  console.log(`pgbench scale ${SCALE} (${before.accounts} accounts, ${before.history} history rows), source ${src.DBInstanceIdentifier} under key A, copy ${copy.DBSnapshotIdentifier} under key B`);
  console.log('| phase (RDS API) | s |');
  console.log('|---|---|');
  console.log(`| CreateDBSnapshot -> available | ${seconds(t1 - t0)} |`);
  console.log(`| CopyDBSnapshot (new KmsKeyId) -> available | ${seconds(t2 - t1)} |`);
  console.log(`| RestoreDBInstanceFromDBSnapshot -> available | ${seconds(t3 - t2)} |`);
  console.log(`| repoint: restored endpoint answers | ${seconds(t4 - t3)} |`);
  console.log(`| write downtime (snapshot start -> restored instance answers) | ${seconds(t4 - t0)} |`);
  console.log(`restored KmsKeyId ${restored.KmsKeyId === keyB.Arn ? 'is the new key' : `is NOT the new key (${restored.KmsKeyId})`}; rows ${same ? 'the same' : `DIFFER: ${JSON.stringify(before)} vs ${JSON.stringify(after)}`}; the source (old key) still exists until deleted`);
} finally {
  await s.cleanup();
}
