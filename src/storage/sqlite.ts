// SQLite backend (better-sqlite3): the embedded default, one file in the data directory.
//
// better-sqlite3 is synchronous; each call here is one short statement on an indexed primary key,
// so running it on the event loop is cheaper than a thread hop. The async signatures are the
// Backend contract, not real concurrency: CAS races resolve in call order.
import { closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import {
  type Backend, type Entry, type ListOptions, type Op, type PutOptions, type TransactionOptions,
  CasConflict, asBuffer, checkExpectVersion, checkKey, checkListOptions, checkOps, checkValue, prefixUpperBound,
} from './backend.ts';

const SCHEMA = `CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY NOT NULL,
  value BLOB NOT NULL,
  version INTEGER NOT NULL
)`;
// SQLite's default BINARY collation compares TEXT with memcmp: byte order, as the contract asks.

/**
 * better-sqlite3's native addon: the one node_modules built for the Node that installed it, or the
 * file REKEY_SQLITE_BINDING names (a build for another Node line: CI's Node 24 leg,
 * scripts/ci-node-lts.sh).
 */
function nativeBinding(): { nativeBinding?: string } {
  const path = process.env['REKEY_SQLITE_BINDING'];
  return path ? { nativeBinding: path } : {};
}

export class SqliteBackend implements Backend {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<typeof prepare>;
  private readonly txn: (ops: readonly Op[]) => void;

  constructor(readonly filePath: string) {
    // Values are barrier ciphertexts, but the file still deserves owner-only access. Create it 0600
    // before SQLite opens it: SQLite gives the -wal and -shm files the mode of the database file
    // (an empty file is a valid new database).
    if (filePath !== ':memory:' && !existsSync(filePath)) {
      try {
        closeSync(openSync(filePath, 'wx', 0o600));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // another process created it first
      }
    }
    this.db = new Database(filePath, nativeBinding());
    try {
      this.db.pragma('journal_mode = WAL');
      // FULL, not NORMAL: in WAL mode NORMAL skips the fsync at commit, so a power loss can undo
      // committed transactions. Here a lost commit can be a new KMS key version that already
      // encrypted data, or a root-key rotation after which the operator destroyed the old root:
      // unrecoverable either way. Writes are rare (Encrypt/Decrypt only read), so the fsync is cheap.
      this.db.pragma('synchronous = FULL');
      // Another process (e.g. `rekey operator rotate-root`) may hold the write lock briefly.
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(SCHEMA);
      this.stmt = prepare(this.db);
      // IMMEDIATE takes the write lock up front, so two processes cannot both read and then fail
      // to upgrade (SQLITE_BUSY mid-transaction). A throw inside rolls everything back.
      this.txn = this.db.transaction((ops: readonly Op[]) => {
        for (const op of ops) if (!this.applyOp(op)) throw new CasConflict(op.key);
      }).immediate;
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  static open(filePath: string): SqliteBackend {
    return new SqliteBackend(filePath);
  }

  async get(key: string): Promise<Entry | null> {
    checkKey(key);
    const row = this.stmt.get.get(key) as { value: Buffer; version: number } | undefined;
    return row ? { key, value: row.value, version: row.version } : null;
  }

  async put(key: string, value: Uint8Array, opts: PutOptions = {}): Promise<number> {
    checkKey(key);
    checkValue(key, value);
    checkExpectVersion(opts.expectVersion);
    const version = this.putRow(key, asBuffer(value), opts.expectVersion);
    if (version === undefined) throw new CasConflict(key);
    return version;
  }

  async delete(key: string, opts: PutOptions = {}): Promise<boolean> {
    checkKey(key);
    checkExpectVersion(opts.expectVersion);
    const r = this.deleteRow(key, opts.expectVersion);
    if (r === 'conflict') throw new CasConflict(key);
    return r;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<string[]> {
    checkListOptions(prefix, opts);
    const rows = this.stmt.list.all({
      lo: prefix,
      hi: prefixUpperBound(prefix),
      after: opts.after ?? '',
      limit: opts.limit ?? -1, // SQLite: a negative LIMIT means no limit
    }) as { key: string }[];
    return rows.map((r) => r.key);
  }

  async transaction(ops: Op[], opts?: TransactionOptions): Promise<void> {
    checkOps(ops);
    if (ops.length === 0) return;
    if (opts?.durable !== false) {
      this.txn(ops);
      return;
    }
    // WAL + synchronous=NORMAL for this commit only: no fsync at commit. The WAL is append-only, so
    // the next FULL commit's fsync (or a checkpoint, or sync()) makes this one durable too.
    this.stmt.syncNormal.run();
    try {
      this.txn(ops);
    } finally {
      this.stmt.syncFull.run();
    }
  }

  /** Flushes relaxed commits: a checkpoint syncs the WAL before copying it into the database file. */
  async sync(): Promise<void> {
    this.db.pragma('wal_checkpoint(FULL)');
  }

  /** The durability settings in force on this connection (for diagnostics and tests). */
  settings(): { journalMode: string; synchronous: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA' } {
    const journalMode = String(this.db.pragma('journal_mode', { simple: true }));
    const sync = Number(this.db.pragma('synchronous', { simple: true }));
    return { journalMode, synchronous: (['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const)[sync] ?? 'OFF' };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** Returns the new version, or undefined when the CAS check failed. */
  private putRow(key: string, value: Buffer, expectVersion: number | undefined): number | undefined {
    const row =
      expectVersion === undefined ? this.stmt.upsert.get(key, value)
        : expectVersion === 0 ? this.stmt.insert.get(key, value)
          : this.stmt.update.get(value, key, expectVersion);
    return (row as { version: number } | undefined)?.version;
  }

  private deleteRow(key: string, expectVersion: number | undefined): boolean | 'conflict' {
    if (expectVersion === 0) return this.stmt.exists.get(key) ? 'conflict' : false;
    if (expectVersion === undefined) return this.stmt.delete.run(key).changes > 0;
    // Missing and "at another version" are both a conflict: the current version (0) is not n.
    return this.stmt.deleteAt.run(key, expectVersion).changes > 0 || 'conflict';
  }

  /** One op inside the transaction; false when its CAS check failed. */
  private applyOp(op: Op): boolean {
    if (op.type === 'put') return this.putRow(op.key, asBuffer(op.value), op.expectVersion) !== undefined;
    return this.deleteRow(op.key, op.expectVersion) !== 'conflict';
  }
}

/** Every statement is prepared once per connection. */
function prepare(db: Database.Database) {
  return {
    get: db.prepare('SELECT value, version FROM kv WHERE key = ?'),
    exists: db.prepare('SELECT 1 FROM kv WHERE key = ?'),
    upsert: db.prepare(
      'INSERT INTO kv (key, value, version) VALUES (?, ?, 1) ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = kv.version + 1 RETURNING version',
    ),
    insert: db.prepare('INSERT INTO kv (key, value, version) VALUES (?, ?, 1) ON CONFLICT (key) DO NOTHING RETURNING version'),
    update: db.prepare('UPDATE kv SET value = ?, version = version + 1 WHERE key = ? AND version = ? RETURNING version'),
    delete: db.prepare('DELETE FROM kv WHERE key = ?'),
    deleteAt: db.prepare('DELETE FROM kv WHERE key = ? AND version = ?'),
    list: db.prepare('SELECT key FROM kv WHERE key >= @lo AND key < @hi AND key > @after ORDER BY key LIMIT @limit'),
    // around a relaxed commit (transaction, durable: false); prepared here, as db.pragma() prepares on every call
    syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
    syncFull: db.prepare('PRAGMA synchronous = FULL'),
  };
}
