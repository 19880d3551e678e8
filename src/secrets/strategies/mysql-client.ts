// MySQL / MariaDB access for the rotation strategies: one short-lived mysql2 connection per step,
// with connect and statement timeouts, closed on every path; the server flavour from VERSION().
//
// Passwords are sent as mysql_native_password hashes ('*' + hex SHA1(SHA1(pw)), src/crypto/scram.ts),
// never as plaintext:
//   MariaDB:  ALTER USER 'u'@'h' IDENTIFIED BY PASSWORD '*HASH'    /  SET PASSWORD = '*HASH' (own account)
//   MySQL 8:  ALTER USER 'u'@'h' IDENTIFIED WITH mysql_native_password AS '*HASH' [RETAIN CURRENT PASSWORD]
// Only MariaDB is tested here; the MySQL 8 statements follow the MySQL 8.0 reference manual.
import mysql from 'mysql2/promise';
import { mysqlNativePasswordHash } from '../../crypto/scram.ts';
import { DatabaseOperationException } from '../../errors.ts';
import type { DbSecret } from '../strategy.ts';
import { CONNECT_TIMEOUT_MS, STATEMENT_TIMEOUT_MS, checkAborted, databaseTls, flagTlsFailure, portOf, withTlsChoice, wrapDbError, type Target } from './common.ts';

export const MYSQL_DEFAULT_PORT = 3306;
/** MySQL 8 allows 32-character user names (MariaDB 80); minus `_clone` for alternating users. */
export const MYSQL_MAX_USERNAME = 32;

export type MysqlConn = mysql.Connection;

export interface Flavor {
  mariadb: boolean;
  /** MySQL 8.0.14+: ALTER USER ... RETAIN CURRENT PASSWORD / DISCARD OLD PASSWORD. */
  dualPasswords: boolean;
  version: string;
}

export function mysqlTarget(s: DbSecret, label: string): Target {
  return { user: s.username, host: s.host, port: portOf(s, MYSQL_DEFAULT_PORT), label };
}

/** TLS as the secret's `ssl` key says (sslChoice), with one plaintext attempt after a failed TLS one where it allows. */
export async function withMysql<T>(
  login: DbSecret, label: string, doing: string, signal: AbortSignal | undefined,
  fn: (c: MysqlConn) => Promise<T>, secrets: readonly string[] = [], useDatabase = false,
): Promise<T> {
  return withTlsChoice(login, (tls) => mysqlAttempt(login, label, doing, signal, fn, secrets, useDatabase, tls));
}

async function mysqlAttempt<T>(
  login: DbSecret, label: string, doing: string, signal: AbortSignal | undefined,
  fn: (c: MysqlConn) => Promise<T>, secrets: readonly string[], useDatabase: boolean, tls: boolean,
): Promise<T> {
  checkAborted(signal, doing);
  const target = mysqlTarget(login, label);
  let conn: MysqlConn | undefined;
  const onAbort = () => conn?.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    conn = await mysql.createConnection({
      host: login.host, port: target.port, user: login.username, password: login.password,
      // Password changes need no database; only testSecret checks that AWSPENDING can use dbname.
      ...(useDatabase && typeof login.dbname === 'string' ? { database: login.dbname } : {}),
      connectTimeout: CONNECT_TIMEOUT_MS, multipleStatements: false,
      ...(tls ? { ssl: databaseTls() } : {}),
    });
    conn.on('error', () => {}); // surfaces as the pending query's rejection
    return await fn(conn);
  } catch (e) {
    checkAborted(signal, doing);
    // only a connection that never got through TLS may be tried again in plaintext
    throw flagTlsFailure(wrapDbError(e, target, doing, [login.password, ...secrets]), e, tls && !conn);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (conn) await conn.end().catch(() => conn?.destroy());
  }
}


/** Runs one statement with the statement timeout; rows for SELECT/SHOW. */
export async function q<R = Record<string, unknown>>(c: MysqlConn, sql: string, values: unknown[] = []): Promise<R[]> {
  const [rows] = await c.query({ sql, values, timeout: STATEMENT_TIMEOUT_MS });
  return Array.isArray(rows) ? (rows as R[]) : [];
}

export async function mysqlCanLogin(s: DbSecret, label: string, doing: string, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await withMysql(s, label, doing, signal, async (c) => { await q(c, 'SELECT 1'); });
    return true;
  } catch (e) {
    if ((e as Error).name === 'DatabaseLoginFailedException') return false;
    throw e;
  }
}

export async function flavor(c: MysqlConn): Promise<Flavor> {
  const [row] = await q<{ v: string }>(c, 'SELECT VERSION() AS v');
  const version = String(row?.v ?? '');
  if (/mariadb/i.test(version)) return { mariadb: true, dualPasswords: false, version };
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  const [maj, min, pat] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  const dual = maj > 8 || (maj === 8 && (min > 0 || pat >= 14));
  return { mariadb: false, dualPasswords: dual, version };
}

// Host parts come from the server (mysql.user) and user names are validated (common.ts); both are
// checked again here so that a plain single-quoted literal is safe in every sql_mode.
const HOST_PART = /^[A-Za-z0-9_.%:\-/]{1,255}$/;
const USER_PART = /^[A-Za-z_][A-Za-z0-9_$.-]{0,79}$/;

/** 'user'@'host' as an account name. */
export function account(user: string, host: string): string {
  if (!USER_PART.test(user) || !HOST_PART.test(host)) throw new DatabaseOperationException(`account name ${JSON.stringify(user)}@${JSON.stringify(host)} has characters rekey does not quote`);
  return `'${user}'@'${host}'`;
}

/** The `IDENTIFIED ...` clause carrying the mysql_native_password hash. */
export function identifiedClause(f: Flavor, password: string): string {
  const hash = mysqlNativePasswordHash(password); // '*' + 40 hex digits: safe in a literal
  return f.mariadb ? `IDENTIFIED BY PASSWORD '${hash}'` : `IDENTIFIED WITH mysql_native_password AS '${hash}'`;
}

/** The host parts of every account named `user`. */
export async function hostsOf(c: MysqlConn, user: string): Promise<string[]> {
  const rows = await q<{ Host: string }>(c, 'SELECT Host FROM mysql.user WHERE User = ? ORDER BY Host', [user]);
  return rows.map((r) => String(r.Host));
}

/** testSecret for both MySQL strategies. */
export async function mysqlTestPending(pending: DbSecret, signal: AbortSignal): Promise<void> {
  await withMysql(pending, 'AWSPENDING', 'testSecret', signal, async (c) => {
    const [row] = await q<{ u: string }>(c, 'SELECT CURRENT_USER() AS u');
    if (!String(row?.u ?? '').startsWith(`${pending.username}@`)) throw new Error('logged in as another account than the secret names');
  }, [], true);
}
