// MariaDB online re-encryption after a rekey KMS rotation (docs/PERFORMANCE.md, docs/MARIADB.md):
// a private mariadbd with the hashicorp_key_management plugin against an in-process rekey, a table
// of BENCH_MB megabytes, then two RotateKeyOnDemand (InnoDB moves pages on the second rotation after
// theirs, see docs/MARIADB.md) and the time until every tablespace has the newest key version.
// Throughout, one client runs insert + point select; it prints the client's transactions per second
// during the re-encryption as a ratio of the same client before it, in the same run.
// Usage: node --import tsx bench/mariadb-rotate/run.ts   (BENCH_MB=1024, BENCH_THREADS=4, BENCH_IOPS=10000)
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CreateKeyCommand, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import { startTestServer, TEST_CREDS } from '../../test/helpers/server.ts';
import { installDataDir, startMariaDb } from '../../test/helpers/mariadb-server.ts';
import { adminCall } from '../../src/cli/admin-client.ts';
import { mariaDbFlags } from '../../src/keyserve/mariadb-config.ts';

const MB = Number(process.env.BENCH_MB ?? 1024);
const THREADS = Number(process.env.BENCH_THREADS ?? 4);
const IOPS = Number(process.env.BENCH_IOPS ?? 10000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const s = await startTestServer();
const conn = { endpoint: new URL(s.url), region: 'us-east-1', credentials: TEST_CREDS };
const keyId = (await s.kmsClient().send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
await adminCall(conn, { method: 'POST', path: '/v1/keyserve/keyrings', body: { name: 'bench', kmsKeyId: keyId } });
const { token } = await adminCall<{ token: string }>(conn, { method: 'POST', path: '/v1/keyserve/keyrings/bench/tokens', body: {} });
const flags = [...mariaDbFlags({ endpoint: s.url, keyring: 'bench', token, cacheVersionTimeoutMs: 500, encryptionThreads: THREADS }), `--innodb-encryption-rotation-iops=${IOPS}`, '--innodb-buffer-pool-size=256M'];
const dir = mkdtempSync(join(tmpdir(), 'rekey-bench-mariadb-'));
let db: Awaited<ReturnType<typeof startMariaDb>> | undefined;
// stopped from outside (timeout, ^C): take the private mariadbd and its files along
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    db?.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  });
}
try {
  await installDataDir(dir, flags);
  db = await startMariaDb(dir, flags);
  const c = await db.connect();
  await c.query('CREATE DATABASE b');
  await c.query('CREATE TABLE b.big (id INT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(1000) NOT NULL) ENGINE=InnoDB');
  await c.query('CREATE TABLE b.hot (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(100) NOT NULL) ENGINE=InnoDB');
  const tFill = Date.now();
  // rows of ~1 KB, 1000 per statement
  const batch = `INSERT INTO b.big (pad) SELECT REPEAT(MD5(RAND()), 31) FROM b.seq_1_to_1000`;
  for (let done = 0; done < MB * 1024; done += 1000) await c.query(batch);
  await c.query('ANALYZE TABLE b.big');
  const [[size]] = await c.query("SELECT (DATA_LENGTH + INDEX_LENGTH) / 1048576 AS mb FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'b' AND TABLE_NAME = 'big'") as unknown as [[{ mb: number }]];
  console.log(`filled ${Number(size.mb).toFixed(0)} MB in ${((Date.now() - tFill) / 1000).toFixed(0)} s`);
  await c.query('SET GLOBAL innodb_max_dirty_pages_pct = 0');

  const w = await db.connect();
  let ok = 0;
  let failed = 0;
  let stop = false;
  const loop = (async () => {
    for (let i = 0; !stop; i++) {
      try {
        await w.query('INSERT INTO b.hot (v) VALUES (?)', [`r${i}`]);
        await w.query('SELECT v FROM b.hot WHERE id = ?', [Math.max(1, i)]);
        ok++;
      } catch {
        failed++;
      }
    }
  })();
  await sleep(5000);
  const ok0 = ok;
  const t0 = Date.now();
  await sleep(10_000);
  const before = (ok - ok0) / ((Date.now() - t0) / 1000);

  type Row = { NAME: string; CURRENT_KEY_VERSION: number; MIN_KEY_VERSION: number; ROTATING_OR_FLUSHING: number };
  const spaces = async () => (await c.query('SELECT NAME, CURRENT_KEY_VERSION, MIN_KEY_VERSION, ROTATING_OR_FLUSHING FROM information_schema.INNODB_TABLESPACES_ENCRYPTION'))[0] as Row[];
  const rotate = async (to: number) => {
    await s.kmsClient().send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    s.kms.store.invalidateKey(keyId);
    while (!(await spaces()).every((x) => x.CURRENT_KEY_VERSION === to)) await sleep(100);
    console.log(`  key version ${to} seen by InnoDB after ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  };
  let t1 = Date.now();
  await rotate(2);
  t1 = Date.now();
  const ok1 = ok;
  await rotate(3);
  let lastLog = Date.now();
  for (;;) {
    const r = await spaces();
    if (r.every((x) => x.MIN_KEY_VERSION === 3 && x.ROTATING_OR_FLUSHING === 0)) break;
    if (Date.now() - lastLog > 15_000) {
      lastLog = Date.now();
      const [[p]] = await c.query("SELECT KEY_ROTATION_PAGE_NUMBER AS page, KEY_ROTATION_MAX_PAGE_NUMBER AS max FROM information_schema.INNODB_TABLESPACES_ENCRYPTION WHERE NAME = 'b/big'") as unknown as [[{ page: number | null; max: number | null }]];
      console.log(`  ${((Date.now() - t1) / 1000).toFixed(0)} s: b/big page ${p?.page ?? '-'} of ${p?.max ?? '-'}; ${r.filter((x) => x.MIN_KEY_VERSION < 3).length} tablespaces below version 3; client ${ok} tx`);
    }
    await sleep(200);
  }
  const secs = (Date.now() - t1) / 1000;
  const during = (ok - ok1) / secs;
  stop = true;
  await loop;
  await w.end();
  await c.end();
  console.log(`machine: ${cpus().length} cores, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}; innodb_encryption_threads=${THREADS}, rotation_iops=${IOPS}`);
  console.log(`re-encrypted every tablespace (table of ${Number(size.mb).toFixed(0)} MB) to key version 3 in ${secs.toFixed(1)} s`);
  console.log(`client: ${before.toFixed(0)} tx/s before, ${during.toFixed(0)} tx/s during, ratio ${(during / before).toFixed(2)}; failed queries ${failed}`);
} finally {
  await db?.stop();
  await s.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
