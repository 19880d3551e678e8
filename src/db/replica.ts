// PostgreSQL streaming replication for change-key (src/db/change-key.ts): a replication role and a
// physical slot on the primary, pg_basebackup -X stream into the new volume, the standby's
// configuration, its lag, and promotion. The replication password reaches pg_basebackup and the
// standby through a passfile on the NEW encrypted volume (never argv or the environment), so it is
// encrypted on disk like the data it guards.
//
// pg_hba: initdb --auth=scram-sha-256 already writes `host replication all 127.0.0.1/32
// scram-sha-256` (PostgreSQL 15's pg_hba.conf.sample), so the role only needs REPLICATION.
import { spawn } from 'node:child_process';
import { chownSync, closeSync, openSync, readFileSync, appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ident, passwordClause } from '../secrets/strategies/pg-client.ts';
import type { ServerUser } from './os-user.ts';

export const REPL_ROLE = 'rekey_repl';
export const REPL_SLOT = 'rekey_change_key';
export const REPL_APP = 'rekey_change_key';

/** The role, slot and application_name one standby uses (change-key's by default; each read replica has its own: src/db/read-replicas.ts). */
export interface ReplNames {
  role: string;
  slot: string;
  app: string;
}
export const CHANGE_KEY_NAMES: ReplNames = { role: REPL_ROLE, slot: REPL_SLOT, app: REPL_APP };

export interface Login {
  port: number;
  user: string;
  password: string;
}

export async function connectTo(l: Login): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: l.port, user: l.user, password: l.password, database: 'postgres', connectionTimeoutMillis: 10_000 });
  c.on('error', () => {});
  await c.connect();
  return c;
}

export async function withClient<T>(l: Login, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await connectTo(l);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/** On the primary: the replication role (password set again each time: idempotent) and the slot that keeps WAL for the standby. */
export async function prepareReplication(admin: Login, replPassword: string, n: ReplNames = CHANGE_KEY_NAMES): Promise<void> {
  await withClient(admin, async (c) => {
    const has = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [n.role]);
    await c.query(`${has.rowCount ? 'ALTER' : 'CREATE'} ROLE ${ident(n.role)} REPLICATION LOGIN ${passwordClause(replPassword)}`);
    await c.query('SELECT pg_create_physical_replication_slot($1) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)', [n.slot]);
  });
}

/** Removes the slot (terminating its walsender first) and the role. Best effort per statement. */
export async function dropReplication(admin: Login, opts: { slot: boolean }, n: ReplNames = CHANGE_KEY_NAMES): Promise<void> {
  await withClient(admin, async (c) => {
    if (opts.slot) {
      await c.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [n.slot]).catch(() => {});
      await new Promise((r) => setTimeout(r, 200));
      await c.query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [n.slot]).catch(() => {});
    }
    await c.query(`DROP ROLE IF EXISTS ${ident(n.role)}`).catch(() => {});
  });
}

/** The passfile (libpq's format) the standby and pg_basebackup read; on the new encrypted volume, owned by the server user, 0600. */
export function writePassfile(file: string, user: ServerUser, replPassword: string, role: string = REPL_ROLE): void {
  const esc = (s: string) => s.replace(/[\\:]/g, (m) => `\\${m}`);
  writeFileSync(file, `127.0.0.1:*:*:${role}:${esc(replPassword)}\n`, { mode: 0o600 });
  if (user.uid !== undefined) chownSync(file, user.uid, user.gid!);
}

/** pg_basebackup -X stream from the primary into `dataDir` (which must not exist or be empty), as the server user. */
export function baseBackup(o: { binDir: string; user: ServerUser; primaryPort: number; dataDir: string; passfile: string; logFile: string; signal?: AbortSignal; names?: ReplNames }): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = openSync(o.logFile, 'a', 0o600);
    const n = o.names ?? CHANGE_KEY_NAMES;
    const args = ['-h', '127.0.0.1', '-p', String(o.primaryPort), '-U', n.role, '-D', o.dataDir, '-X', 'stream', '-S', n.slot, '-c', 'fast', '-w'];
    const child = spawn(join(o.binDir, 'pg_basebackup'), args, {
      ...(o.user.uid !== undefined ? { uid: o.user.uid, gid: o.user.gid! } : {}),
      stdio: ['ignore', log, log], cwd: '/', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PGPASSFILE: o.passfile, PGCONNECT_TIMEOUT: '10' },
    });
    closeSync(log);
    const abort = () => child.kill('SIGTERM');
    o.signal?.addEventListener('abort', abort, { once: true });
    child.on('error', reject);
    child.on('exit', (code) => {
      o.signal?.removeEventListener('abort', abort);
      if (code === 0) resolve();
      else reject(new Error(`pg_basebackup exited with ${code}: ${tailOf(o.logFile)}`));
    });
  });
}

function tailOf(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ').slice(0, 600);
  } catch {
    return '';
  }
}

/** The standby's settings (postgresql.auto.conf, re-read on SIGHUP: primary_conninfo is reloadable) and standby.signal. */
export function configureStandby(dataDir: string, user: ServerUser, primaryPort: number, passfile: string, n: ReplNames = CHANGE_KEY_NAMES): void {
  const conf = join(dataDir, 'postgresql.auto.conf');
  const kept = readFileSync(conf, 'utf8').split('\n').filter((l) => !/^\s*(primary_conninfo|primary_slot_name)\s*=/.test(l)).join('\n');
  writeFileSync(conf, kept.trimEnd() + '\n');
  appendFileSync(conf, `primary_conninfo = 'host=127.0.0.1 port=${primaryPort} user=${n.role} passfile=${passfile} application_name=${n.app}'\nprimary_slot_name = '${n.slot}'\n`);
  writeFileSync(join(dataDir, 'standby.signal'), '');
  if (user.uid !== undefined) for (const f of [conf, join(dataDir, 'standby.signal')]) chownSync(f, user.uid, user.gid!);
}

/** The primary's port the standby is configured for (null: none). */
export function configuredPrimaryPort(dataDir: string): number | null {
  try {
    const m = /primary_conninfo = '[^']*\bport=(\d+)/.exec(readFileSync(join(dataDir, 'postgresql.auto.conf'), 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The standby's lag as the primary sees it (null: not streaming). */
export async function replicationLag(admin: Login, n: ReplNames = CHANGE_KEY_NAMES): Promise<{ bytes: number; state: string } | null> {
  return withClient(admin, async (c) => {
    const r = await c.query<{ lag: string | null; state: string }>(
      'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text AS lag, state FROM pg_stat_replication WHERE application_name = $1', [n.app]);
    const row = r.rows[0];
    return row && row.lag !== null ? { bytes: Number(row.lag), state: row.state } : null;
  });
}

/** Bytes pg_basebackup has streamed so far, and the estimate of the total (pg_stat_progress_basebackup). */
export async function backupProgress(admin: Login): Promise<{ streamed: number; total: number } | null> {
  return withClient(admin, async (c) => {
    const r = await c.query<{ s: string; t: string | null }>('SELECT backup_streamed::text AS s, backup_total::text AS t FROM pg_stat_progress_basebackup LIMIT 1');
    const row = r.rows[0];
    return row ? { streamed: Number(row.s), total: Number(row.t ?? row.s) } : null;
  });
}

/**
 * On the primary, inside change-key's hold (no new sessions arrive through the endpoint): ends every
 * other session (client backends, and autovacuum workers, which write WAL) and returns once they
 * are gone. A backend leaves pg_stat_activity only after its last WAL record was inserted (a COMMIT
 * in progress completes first: it holds off interrupts), so every commit any of them made is in WAL
 * before whatever the caller writes next. Walsenders stay: the standby keeps streaming. Returns how
 * many were ended.
 */
export async function endSessions(primary: pg.Client, timeoutMs = 10_000): Promise<number> {
  const others = "backend_type IN ('client backend', 'autovacuum worker') AND pid <> pg_backend_pid()";
  let ended = 0;
  const end = Date.now() + timeoutMs;
  for (;;) {
    // again each round: a session that arrived meanwhile (not through the endpoint) ends too
    const r = await primary.query<{ n: number }>(`SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${others}) t`);
    const n = r.rows[0]?.n ?? 0;
    if (n === 0) return ended;
    ended += n;
    if (Date.now() > end) throw new Error(`${n} sessions on the old primary did not end within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * On the primary, once no session is left: one synchronous commit (a transaction id, nothing else),
 * which flushes all WAL before it, including asynchronous commits (synchronous_commit = off) not yet
 * on disk; returns the flush position after it. Every commit any client saw is before it.
 */
export async function flushedEnd(primary: pg.Client): Promise<string> {
  await primary.query('SET synchronous_commit = on');
  await primary.query('SELECT pg_current_xact_id()');
  const r = await primary.query<{ lsn: string }>('SELECT pg_current_wal_flush_lsn()::text AS lsn');
  return r.rows[0]!.lsn;
}

/**
 * On the primary: pg_switch_wal(), which ends the current WAL segment (the rest of it written as
 * padding, and streamed); returns the switch record's end. A standby that has replayed up to it
 * holds everything before it, and (if nothing follows) its end of WAL is the segment boundary.
 */
export async function switchWal(primary: pg.Client): Promise<string> {
  const r = await primary.query<{ lsn: string }>('SELECT pg_switch_wal()::text AS lsn');
  return r.rows[0]!.lsn;
}

/** The primary's WAL insert position (bytes) and its segment size. */
export async function walInsert(primary: pg.Client): Promise<{ at: number; segment: number }> {
  const r = await primary.query<{ at: string; seg: string }>(
    "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text AS at, pg_size_bytes(current_setting('wal_segment_size'))::text AS seg");
  return { at: Number(r.rows[0]!.at), segment: Number(r.rows[0]!.seg) };
}

/**
 * The size of the message that takes WAL at byte `at` to about `leaveBytes` before its segment's end
 * (never past it), or 0 when less than `leaveBytes` + 64 KiB is left. Each 8 KiB WAL page spends
 * 24 bytes on its header (40 the segment's first), and the record has a header of its own.
 */
export function fillerBytes(at: number, segment: number, leaveBytes: number): number {
  const left = segment - (at % segment);
  const size = Math.floor(((left - leaveBytes) * (8192 - 24)) / 8192) - 512;
  return size < 64 * 1024 ? 0 : size;
}

/**
 * On the primary: fills the current WAL segment up to about `leaveBytes` before its end with one
 * non-transactional logical message (a no-op to everything but logical decoding), flushed; returns
 * the flush position after it, or null when less than `leaveBytes` (+ 64 KiB) was left anyway.
 * change-key does this before its hold, so that the hold's WAL switch pads (writes, streams) only
 * the few bytes left instead of most of 16 MB.
 */
export async function fillSegment(primary: pg.Client, leaveBytes: number): Promise<string | null> {
  const { at, segment } = await walInsert(primary);
  const size = fillerBytes(at, segment, leaveBytes);
  if (size === 0) return null;
  await primary.query("SELECT pg_logical_emit_message(false, 'rekey-change-key', repeat('0', $1::int))", [size]);
  return flushedEnd(primary);
}

/** Whether the standby has replayed WAL up to `lsn`. */
export async function replayedUpTo(standby: pg.Client, lsn: string): Promise<boolean> {
  const r = await standby.query<{ ok: boolean | null }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [lsn]);
  return r.rows[0]?.ok === true;
}

/**
 * Promotes the standby (idempotent: a server no longer in recovery is left as it is) and returns
 * once it accepts writes. pg_promote(wait => true) checks every 100 ms; polling ourselves every
 * 5 ms takes up to 95 ms off the clients' stall.
 */
export async function promote(standby: pg.Client): Promise<void> {
  const inRecovery = async () => (await standby.query<{ rec: boolean }>('SELECT pg_is_in_recovery() AS rec')).rows[0]?.rec === true;
  if (!(await inRecovery())) return;
  await standby.query('SELECT pg_promote(false)');
  const end = Date.now() + 60_000;
  while (await inRecovery()) {
    if (Date.now() > end) throw new Error('the standby did not finish promotion within 60 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}
