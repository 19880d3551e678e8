// PostgreSQL backend (`pg`): several rekey nodes share one table for high availability.
//
// Every CAS is a single conditional statement, so the database decides races, not the nodes:
//   - expectVersion 0: INSERT ... ON CONFLICT DO NOTHING. A concurrent insert of the same key waits
//     for the first to commit and then inserts nothing: a CasConflict, never a unique violation.
//   - expectVersion n: UPDATE ... WHERE version = n. Under READ COMMITTED a blocked UPDATE re-checks
//     its WHERE clause against the committed row, so exactly one of N racing writers matches.
// transaction() runs the same statements inside BEGIN/COMMIT and rolls back on the first failed
// check. Ops are sorted by key so concurrent transactions lock rows in one order (no deadlocks).
import pg from 'pg';
import {
  type Backend, type Entry, type ListOptions, type Op, type PutOptions,
  CasConflict, asBuffer, checkExpectVersion, checkKey, checkListOptions, checkOps, checkValue, prefixUpperBound,
} from './backend.ts';

export interface PostgresBackendOptions {
  /** Table name (created if missing). Default rekey_kv. */
  table?: string;
  /** Extra pool settings (max connections, timeouts, ssl). */
  pool?: Omit<pg.PoolConfig, 'connectionString'>;
}

type Queryable = pg.Pool | pg.PoolClient;

// Statement texts with the table name substituted; names make `pg` prepare each once per connection.
function statements(t: string) {
  return {
    get: `SELECT value, version FROM ${t} WHERE key = $1`,
    exists: `SELECT 1 FROM ${t} WHERE key = $1`,
    upsert: `INSERT INTO ${t} AS kv (key, value, version) VALUES ($1, $2, 1)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = kv.version + 1 RETURNING version`,
    insert: `INSERT INTO ${t} (key, value, version) VALUES ($1, $2, 1) ON CONFLICT (key) DO NOTHING RETURNING version`,
    update: `UPDATE ${t} SET value = $2, version = version + 1 WHERE key = $1 AND version = $3 RETURNING version`,
    delete: `DELETE FROM ${t} WHERE key = $1`,
    deleteAt: `DELETE FROM ${t} WHERE key = $1 AND version = $2`,
    // A key range instead of LIKE: '%' and '_' in a prefix stay literal. LIMIT NULL = no limit.
    list: `SELECT key FROM ${t} WHERE key >= $1 AND key < $2 AND key > $3 ORDER BY key LIMIT $4`,
  };
}
type StatementName = keyof ReturnType<typeof statements>;

const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class PostgresBackend implements Backend {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private readonly sql: Record<StatementName, string>;
  private closed = false;

  private constructor(connectionString: string, readonly table: string, poolConfig: Omit<pg.PoolConfig, 'connectionString'>) {
    this.pool = new pg.Pool({ ...poolConfig, connectionString });
    // An idle client whose server went away emits 'error' on the pool; without a listener that
    // crashes the process. pg drops the broken client itself; the next query reports the outage.
    this.pool.on('error', () => {});
    this.sql = statements(`"${table}"`);
  }

  /** Connects and creates the table if it does not exist yet. */
  static async open(connectionString: string, opts: PostgresBackendOptions = {}): Promise<PostgresBackend> {
    const table = opts.table ?? 'rekey_kv';
    if (!TABLE_NAME.test(table)) throw new RangeError(`invalid PostgreSQL table name ${JSON.stringify(table)} (lower-case letters, digits, _)`);
    const b = new PostgresBackend(connectionString, table, opts.pool ?? {});
    try {
      await b.createTable();
    } catch (e) {
      await b.close();
      throw e;
    }
    return b;
  }

  private async createTable(): Promise<void> {
    // Two nodes starting at once can both miss the table; concurrent CREATE TABLE IF NOT EXISTS can
    // then fail on the catalog's unique index. A transaction-scoped advisory lock serializes them.
    // COLLATE "C" makes ordering and range comparisons byte order, whatever the database locale.
    await this.inTransaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`rekey-create-table:${this.table}`]);
      await c.query(`CREATE TABLE IF NOT EXISTS "${this.table}" (
        key TEXT COLLATE "C" PRIMARY KEY,
        value BYTEA NOT NULL,
        version BIGINT NOT NULL
      )`);
    });
  }

  async get(key: string): Promise<Entry | null> {
    checkKey(key);
    const r = await this.run(this.pool, 'get', [key]);
    const row = r.rows[0] as { value: Buffer; version: string } | undefined;
    return row ? { key, value: row.value, version: Number(row.version) } : null;
  }

  async put(key: string, value: Uint8Array, opts: PutOptions = {}): Promise<number> {
    checkKey(key);
    checkValue(key, value);
    checkExpectVersion(opts.expectVersion);
    const version = await this.putRow(this.pool, key, value, opts.expectVersion);
    if (version === undefined) throw new CasConflict(key);
    return version;
  }

  async delete(key: string, opts: PutOptions = {}): Promise<boolean> {
    checkKey(key);
    checkExpectVersion(opts.expectVersion);
    const r = await this.deleteRow(this.pool, key, opts.expectVersion);
    if (r === 'conflict') throw new CasConflict(key);
    return r;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<string[]> {
    checkListOptions(prefix, opts);
    const r = await this.run(this.pool, 'list', [prefix, prefixUpperBound(prefix), opts.after ?? '', opts.limit ?? null]);
    return r.rows.map((row: { key: string }) => row.key);
  }

  async transaction(ops: Op[]): Promise<void> {
    checkOps(ops);
    if (ops.length === 0) return;
    const sorted = [...ops].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    await this.inTransaction(async (c) => {
      for (const op of sorted) {
        const ok = op.type === 'put'
          ? (await this.putRow(c, op.key, op.value, op.expectVersion)) !== undefined
          : (await this.deleteRow(c, op.key, op.expectVersion)) !== 'conflict';
        if (!ok) throw new CasConflict(op.key);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async putRow(q: Queryable, key: string, value: Uint8Array, expectVersion: number | undefined): Promise<number | undefined> {
    const v = asBuffer(value);
    const r = expectVersion === undefined ? await this.run(q, 'upsert', [key, v])
      : expectVersion === 0 ? await this.run(q, 'insert', [key, v])
        : await this.run(q, 'update', [key, v, expectVersion]);
    const row = r.rows[0] as { version: string } | undefined;
    return row ? Number(row.version) : undefined;
  }

  private async deleteRow(q: Queryable, key: string, expectVersion: number | undefined): Promise<boolean | 'conflict'> {
    // "Must not exist" deletes nothing; it is a check at this instant (PostgreSQL cannot lock a
    // missing row under READ COMMITTED). Puts with expectVersion 0 are exact: the insert claims the key.
    if (expectVersion === 0) return (await this.run(q, 'exists', [key])).rowCount ? 'conflict' : false;
    if (expectVersion === undefined) return ((await this.run(q, 'delete', [key])).rowCount ?? 0) > 0;
    return ((await this.run(q, 'deleteAt', [key, expectVersion])).rowCount ?? 0) > 0 || 'conflict';
  }

  private run(q: Queryable, name: StatementName, values: unknown[]): Promise<pg.QueryResult> {
    return q.query({ name: `rekey_${name}_${this.table}`, text: this.sql[name], values });
  }

  private async inTransaction(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const c = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      await fn(c);
      await c.query('COMMIT');
    } catch (e) {
      // If even ROLLBACK fails the connection is unusable: hand it back as broken so pg discards it.
      await c.query('ROLLBACK').catch((re: unknown) => {
        broken = re instanceof Error ? re : new Error(String(re));
      });
      throw e;
    } finally {
      c.release(broken);
    }
  }
}
