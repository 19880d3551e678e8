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

/** Whether the standby has replayed WAL up to `lsn` (the old primary's shutdown checkpoint). */
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

/** pg_controldata of a stopped cluster: its state and the shutdown checkpoint's LSN. */
export function controlData(binDir: string, dataDir: string): Promise<{ state: string; checkpoint: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(binDir, 'pg_controldata'), ['-D', dataDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { LC_ALL: 'C', PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.resume();
    child.on('error', reject);
    child.on('exit', (code) => {
      const state = /Database cluster state:\s*(.+)/.exec(out)?.[1]?.trim();
      const checkpoint = /Latest checkpoint location:\s*([0-9A-F]+\/[0-9A-F]+)/.exec(out)?.[1];
      if (code !== 0 || !state || !checkpoint) reject(new Error(`pg_controldata exited with ${code}`));
      else resolve({ state, checkpoint });
    });
  });
}
