// Retiring old key versions of an encrypted RDS mariadb instance (docs/MARIADB.md "Retiring old
// versions"): a version is retired only when rekey can show that nothing the server may still read
// was written under it. What MariaDB writes under a key version, and for how long it needs it:
//   - InnoDB tablespaces (their key, default 1): until the encryption threads re-encrypted every page
//     (information_schema.INNODB_TABLESPACES_ENCRYPTION.MIN_KEY_VERSION, nothing rotating or
//     flushing, every tablespace of the data dictionary listed there);
//   - the redo log (key 1): the version it was created under, written in its header (ib_logfile0,
//     bytes 48-55: key id and version, big-endian). A rotation does not re-create it, nor does an
//     online resize (measured, 10.11); a start with another innodb_log_file_size does (rekey changes
//     the size with each rotation: MariaDbKeys.settings);
//   - binary logs (key 1): each file the version it was started with (its Start_encryption event, the
//     second event: scheme byte, then the version, little-endian), until purged or expired;
//   - temporary files (key 2): the version that was the latest when the server started, for its whole
//     run (sql/mf_iocache_encr.cc init_io_cache_encryption); InnoDB's temporary tablespace is
//     recreated at each start;
//   - Aria tables (key 1, key 2 for non-transactional ones): each page the version that was the latest
//     when it was written; MariaDB never re-encrypts them. Only tables created after the server's
//     start are known to hold none older than the versions the plugin returned since (rekey rebuilds
//     the small Aria tables of `mysql` and `sys` itself; a user's older Aria table keeps every version).
// So nothing is retired unless the server runs, started after the newest version of every key was
// made, and every source above could be read; then key k's versions below
// min(newest, InnoDB's lowest for k, and for key 1 the redo log's and every binlog's) are retired.
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** A row of information_schema.INNODB_TABLESPACES_ENCRYPTION (the columns the decision reads). */
export interface EncryptionRow { NAME: string; ENCRYPTION_SCHEME: number; MIN_KEY_VERSION: number; CURRENT_KEY_ID: number; ROTATING_OR_FLUSHING: number }

/** What the running server and its files show (read by `gatherEvidence`). */
export interface RetireEvidence {
  /** The server's start second (ms since the epoch, its own clock): at or before its real start. */
  startedAtMs: number;
  tablespaces: EncryptionRow[];
  /** Tablespaces of the data dictionary absent from INNODB_TABLESPACES_ENCRYPTION. */
  missingTablespaces: number;
  /** The redo log's key version (key 1); null when its header could not be read or is not understood. */
  redoKeyVersion: number | null;
  /** Each binary log: the key version of key 1 it is encrypted with (0: not encrypted; null: unreadable). */
  binlogs: { name: string; keyVersion: number | null }[];
  /** Aria tables (schema.table) created before the server's start: they may hold pages under any older version. */
  oldAria: string[];
}

export interface KeyVersions { served: { version: number; createdAt: number }[]; retired: number[] }

export interface KeyDecision {
  keyId: number;
  served: number[];
  retired: number[];
  /** Versions below this are not needed (retirable now); equal to the lowest served version: none. */
  floor: number;
  /** What holds the versions kept below the newest (empty when only the newest is served). */
  keptBecause: string[];
}

/** Which versions of each key the server still needs, from the evidence (pure; unit-tested). */
export function decide(ev: RetireEvidence | null, keys: ReadonlyMap<number, KeyVersions>): KeyDecision[] {
  const out: KeyDecision[] = [];
  for (const [keyId, k] of [...keys].sort((a, b) => a[0] - b[0])) {
    const served = k.served.map((v) => v.version);
    const newest = k.served.at(-1);
    if (!newest) continue;
    const holds: [number, string][] = [];
    if (!ev) {
      holds.push([0, 'what the server needs could not be read (not running, or not answering)']);
    } else {
      if (ev.startedAtMs <= newest.createdAt) holds.push([0, `the server started before version ${newest.version} was made: its temporary files and Aria pages may use older versions until it restarts`]);
      const busy = ev.tablespaces.filter((r) => Number(r.ENCRYPTION_SCHEME) !== 1 || Number(r.ROTATING_OR_FLUSHING) !== 0);
      if (busy.length > 0) holds.push([0, `${busy.length} InnoDB tablespaces are not encrypted yet, rotating or flushing`]);
      if (ev.missingTablespaces > 0) holds.push([0, `${ev.missingTablespaces} InnoDB tablespaces are not listed in INNODB_TABLESPACES_ENCRYPTION`]);
      const mine = ev.tablespaces.filter((r) => Number(r.CURRENT_KEY_ID) === keyId);
      if (mine.length > 0) {
        const lo = Math.min(...mine.map((r) => Number(r.MIN_KEY_VERSION)));
        holds.push([lo, `${mine.filter((r) => Number(r.MIN_KEY_VERSION) === lo).length} InnoDB tablespaces have pages under version ${lo}`]);
      }
      if (keyId === 1) {
        holds.push(ev.redoKeyVersion === null ? [0, 'the redo log header could not be read'] : [ev.redoKeyVersion, `the redo log was created under version ${ev.redoKeyVersion} (a restart after the rotation re-creates it)`]);
        for (const b of ev.binlogs) {
          if (b.keyVersion === null) holds.push([0, `binary log ${b.name} could not be read`]);
          else if (b.keyVersion > 0) holds.push([b.keyVersion, `binary log ${b.name} is encrypted under version ${b.keyVersion} (until purged or expired)`]);
        }
      }
      if ((keyId === 1 || keyId === 2) && ev.oldAria.length > 0) {
        holds.push([0, `Aria tables written before the server's start may hold older versions: ${ev.oldAria.slice(0, 5).join(', ')}${ev.oldAria.length > 5 ? ` and ${ev.oldAria.length - 5} more` : ''} (ALTER TABLE ... FORCE rewrites one)`]);
      }
    }
    const floor = Math.max(served[0]!, Math.min(newest.version, ...holds.map(([v]) => v)));
    const keptBecause = served.length > 1 ? holds.filter(([v]) => v < newest.version).map(([, why]) => why) : [];
    out.push({ keyId, served, retired: k.retired, floor, keptBecause });
  }
  return out;
}

/** The redo log's key version from ib_logfile0's header (MariaDB 10.8+ format), or null. */
export function redoKeyVersionOf(header: Buffer): number | null {
  if (header.length < 56) return null;
  const creator = header.subarray(16, 48).toString('latin1').replace(/\0+$/, '');
  const m = /^MariaDB (\d+)\.(\d+)\./.exec(creator);
  if (!m || Number(m[1]) * 100 + Number(m[2]) < 1008) return null;
  if (header.readUInt32BE(48) !== 1) return null; // key id 1 (LOG_DEFAULT_ENCRYPTION_KEY): else not encrypted, or a format not understood
  const v = header.readUInt32BE(52);
  return v > 0 ? v : null;
}

const BINLOG_MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
const START_ENCRYPTION_EVENT = 164;

/** The key version a binary log is encrypted with (0: not encrypted), from its first bytes; null if not a binlog. */
export function binlogKeyVersionOf(head: Buffer): number | null {
  if (head.length < 4 + 19 || !head.subarray(0, 4).equals(BINLOG_MAGIC)) return null;
  const fdeLength = head.readUInt32LE(4 + 9); // the Format_description event
  const next = 4 + fdeLength;
  if (head.length < next + 19 + 5) return null;
  if (head[next + 4] !== START_ENCRYPTION_EVENT) return 0;
  return head.readUInt32LE(next + 19 + 1); // after the scheme byte
}

async function readHead(file: string, bytes: number): Promise<Buffer | null> {
  try {
    const f = await open(file, 'r');
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await f.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await f.close();
    }
  } catch {
    return null;
  }
}

/** A query as rekey_admin on the instance (optionally with a longer timeout than the default 3 s). */
export type AdminQuery = <T>(sql: string, timeoutMs?: number) => Promise<T[]>;

/** The `mysql` and `sys` tables among the evidence's old Aria tables (rekey rebuilds those itself). */
export const systemAria = (ev: RetireEvidence): string[] => ev.oldAria.filter((t) => t.startsWith('mysql.') || t.startsWith('sys.'));

/**
 * Rebuilds the small Aria tables of the `mysql` and `sys` schemas written before the server's start
 * (`systemAria` of the evidence; ALTER TABLE ... FORCE: every page written again under the newest
 * versions), once the server started after the newest versions were made. Returns how many.
 */
export async function rebuildSystemAria(q: AdminQuery, tables: readonly string[]): Promise<number> {
  for (const t of tables) {
    const dot = t.indexOf('.');
    await q(`ALTER TABLE \`${t.slice(0, dot)}\`.\`${t.slice(dot + 1).replace(/`/g, '``')}\` FORCE`, 60_000);
  }
  return tables.length;
}

/** Reads what the running server needs (see the file's header). */
export async function gatherEvidence(q: AdminQuery, dataDir: string): Promise<RetireEvidence> {
  // MariaDB's Uptime is the statement's start second minus the server's start second (both whole
  // seconds), and NOW() without fractions is that statement second: their difference is the start
  // second itself, the same on every call. It is a lower bound of the real start (never after it),
  // so "started after version N was made" read from it is never wrong, only late by < 1 s. (With
  // NOW(3) and a 1 s margin it moved by up to a second between calls: one check saw "started
  // after" and the next "before".)
  const [clock] = await q<{ now: string; uptime: string }>(`SELECT UNIX_TIMESTAMP(NOW()) AS now, VARIABLE_VALUE AS uptime FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME'`);
  const startedAtMs = (Number(clock?.now ?? 0) - Number(clock?.uptime ?? Infinity)) * 1000;
  const tablespaces = await q<EncryptionRow>('SELECT NAME, ENCRYPTION_SCHEME, MIN_KEY_VERSION, CURRENT_KEY_ID, ROTATING_OR_FLUSHING FROM information_schema.INNODB_TABLESPACES_ENCRYPTION');
  const [missing] = await q<{ n: number }>(`SELECT COUNT(DISTINCT t.SPACE) AS n FROM information_schema.INNODB_SYS_TABLES t
    WHERE t.SPACE NOT IN (SELECT SPACE FROM information_schema.INNODB_TABLESPACES_ENCRYPTION)`);
  const redoHead = await readHead(join(dataDir, 'ib_logfile0'), 512);
  const binlogs: RetireEvidence['binlogs'] = [];
  for (const b of await q<{ Log_name: string }>('SHOW BINARY LOGS')) {
    const head = /^[A-Za-z0-9._-]+$/.test(b.Log_name) ? await readHead(join(dataDir, b.Log_name), 1024) : null;
    binlogs.push({ name: b.Log_name, keyVersion: head ? binlogKeyVersionOf(head) : null });
  }
  const oldAria = await q<{ name: string }>(`SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) AS name FROM information_schema.TABLES
    WHERE ENGINE = 'Aria' AND TABLE_TYPE = 'BASE TABLE'
      AND (CREATE_TIME IS NULL OR UNIX_TIMESTAMP(CREATE_TIME) <= ${Math.ceil(startedAtMs / 1000) + 1}) ORDER BY 1`);
  return {
    startedAtMs, tablespaces, missingTablespaces: Number(missing?.n ?? 1), redoKeyVersion: redoHead ? redoKeyVersionOf(redoHead) : null,
    binlogs, oldAria: oldAria.map((r) => r.name),
  };
}
