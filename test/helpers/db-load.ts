// A client load loop for rotation tests: it behaves like an application that follows AWS's advice
// for rotated database secrets. It keeps the secret it last read, opens a NEW connection for every
// transaction with it, and after an authentication failure re-reads the secret ONCE and retries.
// What it counts:
//   transactions  committed transactions
//   authFailures  logins refused with the secret in hand (each followed by one re-read)
//   failed        transactions that still failed after the one re-read, or failed for another reason
import pg from 'pg';
import mysql from 'mysql2/promise';
import type { DbSecret } from '../../src/secrets/strategy.ts';
import { isAuthError } from '../../src/secrets/strategies/common.ts';

export interface LoadDriver<C> {
  connect(secret: DbSecret): Promise<C>;
  /** One small transaction on a fresh connection (e.g. insert + select). */
  transaction(conn: C, worker: number, n: number): Promise<void>;
  close(conn: C): Promise<void>;
}

export interface LoadOptions<C> extends LoadDriver<C> {
  readSecret(): Promise<DbSecret>;
  /** Concurrent clients (default 2). */
  workers?: number;
}

export interface LoadCounts {
  transactions: number;
  authFailures: number;
  reReads: number;
  failed: number;
  /** The first few failures: error code and message (never a password: driver login errors carry none). */
  failures: string[];
}

export interface RunningLoad {
  counts: LoadCounts;
  /** Resolves once every client has finished (committed or failed) n more transactions. */
  waitForTransactions(n: number): Promise<void>;
  stop(): Promise<LoadCounts>;
}

export function startLoad<C>(opts: LoadOptions<C>): RunningLoad {
  const counts: LoadCounts = { transactions: 0, authFailures: 0, reReads: 0, failed: 0, failures: [] };
  let stopping = false;
  const perWorker: number[] = [];
  const note = (e: unknown) => {
    counts.failed++;
    const d = e as { code?: unknown; message?: unknown };
    if (counts.failures.length < 10) counts.failures.push(`${String(d?.code)}: ${String(d?.message)}`);
  };
  const attempt = async (secret: DbSecret, w: number, n: number) => {
    const conn = await opts.connect(secret);
    try {
      await opts.transaction(conn, w, n);
    } finally {
      await opts.close(conn).catch(() => {});
    }
  };
  const worker = async (w: number) => {
    perWorker[w] = 0;
    let secret = await opts.readSecret();
    for (let n = 0; !stopping; n++) {
      try {
        await attempt(secret, w, n);
        counts.transactions++;
      } catch (e) {
        if (!isAuthError(e)) { note(e); perWorker[w]!++; continue; }
        counts.authFailures++;
        secret = await opts.readSecret();
        counts.reReads++;
        try {
          await attempt(secret, w, n);
          counts.transactions++;
        } catch (e2) {
          note(e2);
        }
      }
      perWorker[w]!++;
    }
  };
  const workers = Array.from({ length: opts.workers ?? 2 }, (_, w) => worker(w));
  return {
    counts,
    async waitForTransactions(n) {
      const start = perWorker.map((x) => x ?? 0);
      while (!stopping && perWorker.some((x, w) => (x ?? 0) - (start[w] ?? 0) < n)) await new Promise((r) => setTimeout(r, 5));
    },
    async stop() {
      stopping = true;
      await Promise.all(workers);
      return counts;
    },
  };
}

/** PostgreSQL client: a pg.Client per transaction on table `table (worker int, n int)`. */
export function pgLoadDriver(table: string): LoadDriver<pg.Client> {
  const t = pg.escapeIdentifier(table);
  return {
    async connect(s) {
      const c = new pg.Client({ host: s.host, port: Number(s.port), user: s.username, password: s.password, database: String(s.dbname), connectionTimeoutMillis: 10_000 });
      c.on('error', () => {});
      try {
        await c.connect();
      } catch (e) {
        await c.end().catch(() => {});
        throw e;
      }
      return c;
    },
    async transaction(c, w, n) {
      await c.query('BEGIN');
      await c.query(`INSERT INTO ${t} (worker, n) VALUES ($1, $2)`, [w, n]);
      await c.query(`SELECT count(*) FROM ${t} WHERE worker = $1`, [w]);
      await c.query('COMMIT');
    },
    close: (c) => c.end(),
  };
}

/** MySQL/MariaDB client: a mysql2 connection per transaction on table `table (worker int, n int)`. */
export function mysqlLoadDriver(table: string): LoadDriver<mysql.Connection> {
  const t = mysql.escapeId(table);
  return {
    async connect(s) {
      const c = await mysql.createConnection({ host: s.host, port: Number(s.port), user: s.username, password: s.password, database: String(s.dbname), connectTimeout: 10_000 });
      c.on('error', () => {});
      return c;
    },
    async transaction(c, w, n) {
      await c.beginTransaction();
      await c.query(`INSERT INTO ${t} (worker, n) VALUES (?, ?)`, [w, n]);
      await c.query(`SELECT count(*) AS k FROM ${t} WHERE worker = ?`, [w]);
      await c.commit();
    },
    close: (c) => c.end(),
  };
}
