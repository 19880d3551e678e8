// bench/db-snapshot: an encrypted snapshot of a database (PostgreSQL's non-exclusive backup, tar,
// AES-256-GCM chunked stream under a KMS data key, written to a file: src/db/snapshots/run.ts
// writeSnapshot, what the db.snapshot.create job runs) against an unencrypted copy of the same data
// directory (`tar -c` of it into a file on the same disk), in one run, rounds alternating, median
// times. Both read the data through the instance's gocryptfs mount. Prints MB/s and the ratio
// encrypted snapshot / plain copy (issue 14's goal: >= 0.8).
// Usage: npm run bench:db-snapshot   (BENCH_MB=256 of table data, BENCH_ROUNDS=3)
import { loadavg, cpus } from 'node:os';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
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
const PASSWORD = 'bench-Password-1';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const s = await startTestServer();
try {
  const account = s.bootstrap.rec.accountId ?? '000000000000';
  const root = { accountId: account, arn: `arn:aws:iam::${account}:root`, accessKeyId: TEST_CREDS.accessKeyId, type: 'Root', principalId: account, identityPolicies: [] } as unknown as Identity;
  const ctx: DbCallContext = { caller: root, requestId: 'bench', sourceIp: '127.0.0.1', secureTransport: false, userAgent: 'bench' };
  await s.db.service.create({ id: 'enc', engine: 'postgres', instanceClass: 'db.t3.micro', allocatedStorageGiB: 20, masterUsername: 'app', masterUserPassword: PASSWORD, manageMasterUserPassword: false, dbName: 'bench', storageEncrypted: true, deletionProtection: false, tags: [] }, ctx);
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
  // warm-up (not measured): both then read the data directory from the page cache, not cold through gocryptfs
  spawnSync('sh', ['-c', 'tar -c -f - -C "$1" . | wc -c', 'sh', dataDir], { stdio: 'ignore' });
  const times: Record<'snapshot' | 'copy', number[]> = { snapshot: [], copy: [] };
  let snapBytes = 0;
  let copyBytes = 0;
  const load: number[] = [loadavg()[0]!];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['snapshot', 'copy'] as const) : (['copy', 'snapshot'] as const);
    for (const what of order) {
      const t0 = process.hrtime.bigint();
      if (what === 'snapshot') {
        const r = snapRec(round);
        r.grantId = await claimKey(s.db.core.keyDeps, r);
        const w = await writeSnapshot(s.db.core.keyDeps, out, r, { host: '127.0.0.1', port, user: ADMIN_ROLE, password: rec.adminPassword, dataDir }, () => {});
        snapBytes = w.bytes;
      } else {
        const file = join(out, `copy-${round}.tar`);
        const x = spawnSync('tar', ['-c', '-f', file, '--warning=no-file-changed', '-C', dataDir, '.'], { stdio: 'ignore' });
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
  console.log(`database ${(dbBytes / 1e6).toFixed(0)} MB (pg_database_size, all databases), data directory on a gocryptfs volume; ${ROUNDS} rounds, median`);
  console.log(`| what | bytes written | median s | MB/s |`);
  console.log(`|---|---|---|---|`);
  console.log(`| encrypted snapshot (backup API + tar + AES-256-GCM stream) | ${(snapBytes / 1e6).toFixed(0)} MB | ${snapT.toFixed(2)} | ${mbps(snapBytes, snapT)} |`);
  console.log(`| unencrypted copy (tar of the data directory) | ${(copyBytes / 1e6).toFixed(0)} MB | ${copyT.toFixed(2)} | ${mbps(copyBytes, copyT)} |`);
  console.log(`ratio (time of the unencrypted copy / time of the encrypted snapshot, same database): ${(copyT / snapT).toFixed(2)}   (goal >= 0.8)`);
  console.log(`all times: snapshot ${times.snapshot.map((x) => x.toFixed(2)).join(', ')}; copy ${times.copy.map((x) => x.toFixed(2)).join(', ')}`);
} finally {
  await s.cleanup();
}
