// PostgreSQL access for the rotation strategies: one short-lived `pg` connection per step, with
// connect and statement timeouts, closed on every path, aborted with the job's signal.
import pg from 'pg';
import { postgresScramVerifier } from '../../crypto/scram.ts';
import type { DbSecret } from '../strategy.ts';
import { CONNECT_TIMEOUT_MS, STATEMENT_TIMEOUT_MS, checkAborted, databaseTls, flagTlsFailure, portOf, withTlsChoice, wrapDbError, type Target } from './common.ts';

export const PG_DEFAULT_PORT = 5432;
/** PostgreSQL's NAMEDATALEN - 1, minus room for `_clone` / `_owner`. */
export const PG_MAX_BASE_USERNAME = 63 - 6;

export type PgClient = pg.Client;

export function pgTarget(s: DbSecret, label: string): Target {
  return { user: s.username, host: s.host, port: portOf(s, PG_DEFAULT_PORT), label };
}

/**
 * Logs in with `login`'s credentials and runs fn. The connection is always closed; driver errors
 * are wrapped (wrapDbError) so no password or verifier reaches a message. `database` defaults to
 * the secret's dbname, else `postgres`. TLS as the secret's `ssl` key says (sslChoice): when the
 * TLS attempt fails and the secret allows it, one plaintext attempt follows.
 */
export async function withPg<T>(
  login: DbSecret, label: string, doing: string, signal: AbortSignal | undefined,
  fn: (c: PgClient) => Promise<T>, secrets: readonly string[] = [],
): Promise<T> {
  return withTlsChoice(login, (tls) => pgAttempt(login, label, doing, signal, fn, secrets, tls));
}

async function pgAttempt<T>(
  login: DbSecret, label: string, doing: string, signal: AbortSignal | undefined,
  fn: (c: PgClient) => Promise<T>, secrets: readonly string[], tls: boolean,
): Promise<T> {
  checkAborted(signal, doing);
  const target = pgTarget(login, label);
  let connected = false;
  const client = new pg.Client({
    ...(tls ? { ssl: databaseTls() } : {}),
    host: login.host, port: target.port, user: login.username, password: login.password,
    database: typeof login.dbname === 'string' ? login.dbname : 'postgres',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS + 5_000,
    application_name: 'rekey-rotation',
  });
  client.on('error', () => {}); // a dropped connection surfaces as the pending query's rejection
  const onAbort = () => void client.end().catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await client.connect();
    connected = true;
    return await fn(client);
  } catch (e) {
    checkAborted(signal, doing);
    // only a connection that never got through TLS may be tried again in plaintext (not a failed statement)
    throw flagTlsFailure(wrapDbError(e, target, doing, [login.password, ...secrets]), e, tls && !connected);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await client.end().catch(() => {});
  }
}

/** True when `s` can log in (the step's idempotence checks); other failures are thrown, wrapped. */
export async function pgCanLogin(s: DbSecret, label: string, doing: string, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await withPg(s, label, doing, signal, async (c) => { await c.query('SELECT 1'); });
    return true;
  } catch (e) {
    if ((e as Error).name === 'DatabaseLoginFailedException') return false;
    throw e;
  }
}

export function ident(name: string): string {
  return pg.escapeIdentifier(name);
}

export function literal(value: string): string {
  return pg.escapeLiteral(value);
}

/**
 * `PASSWORD '<SCRAM-SHA-256 verifier>'`: PostgreSQL stores a verifier given in place of a password
 * as it is ("If the presented password string is already in MD5-encrypted or SCRAM-encrypted
 * format, then it is stored as-is", CREATE ROLE docs), so the plaintext never reaches the server
 * or its statement log.
 */
export function passwordClause(password: string): string {
  return `PASSWORD ${literal(postgresScramVerifier(password))}`;
}

/** testSecret for both PostgreSQL strategies: log in as AWSPENDING and check who we are. */
export async function pgTestPending(pending: DbSecret, signal: AbortSignal): Promise<void> {
  await withPg(pending, 'AWSPENDING', 'testSecret', signal, async (c) => {
    const r = await c.query<{ u: string }>('SELECT session_user AS u');
    if (r.rows[0]?.u !== pending.username) {
      throw new Error(`logged in as another session user than the secret names`);
    }
  });
}
