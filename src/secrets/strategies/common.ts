// Shared by the built-in database rotation strategies: secret validation, the alternating-users
// naming rule, and turning driver errors into rekey errors that carry no secret.
//
// Driver errors are never passed on as they are: mysql2 attaches the failing statement (`sql`) to
// its errors, and both servers quote fragments of a statement in syntax errors ("near '...'"), so
// a message could carry a password verifier. wrapDbError keeps the error code and a message with
// every quoted literal and every known secret removed.
import { rootCertificates } from 'node:tls';
import { DatabaseLoginFailedException, DatabaseOperationException, ValidationException } from '../../errors.ts';
import type { DbSecret } from '../strategy.ts';

/**
 * Whether a strategy connects over TLS, and whether it may fall back to plaintext when the TLS
 * attempt fails: the `ssl` key of the secret, read as AWS's rotation functions read it
 * (aws-samples/aws-secrets-manager-rotation-lambdas, get_ssl_config): absent or not a boolean or
 * "true"/"false" -> TLS, falling back to plaintext on failure; true / "true" -> TLS only;
 * false / "false" -> plaintext.
 */
export function sslChoice(s: DbSecret): { useTls: boolean; fallBack: boolean } {
  const v = s.ssl;
  if (typeof v === 'boolean') return { useTls: v, fallBack: false };
  if (typeof v === 'string' && v.toLowerCase() === 'true') return { useTls: true, fallBack: false };
  if (typeof v === 'string' && v.toLowerCase() === 'false') return { useTls: false, fallBack: false };
  return { useTls: true, fallBack: true };
}

/** Marks a wrapped connection error as "TLS did not get through" (withTlsChoice may then retry in plaintext). */
const TLS_FAILED = Symbol('tlsFailed');

/**
 * A connection error that means TLS did not get through: the server offers none ('N' to
 * SSLRequest, mysql2's HANDSHAKE_NO_SSL_SUPPORT), the handshake or certificate check failed, or
 * pg_hba refuses TLS. `wrapped` (what the caller throws) is marked when `raw` is one and it came
 * before the login completed, never after a statement failed.
 */
export function flagTlsFailure(wrapped: Error, raw: unknown, beforeLogin: boolean): Error {
  const code = (raw as { code?: unknown }).code;
  const tls = (typeof code === 'string' && /^(HANDSHAKE_NO_SSL_SUPPORT|ERR_TLS|ERR_SSL|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO|CERT_|ECONNRESET)/.test(code))
    || /SSL|TLS|certificate|handshake/i.test(raw instanceof Error ? raw.message : '');
  if (beforeLogin && tls) Object.assign(wrapped, { [TLS_FAILED]: true });
  return wrapped;
}

/** Runs `attempt` over TLS or not as the secret's `ssl` key says (sslChoice), with one plaintext attempt after a flagged TLS failure where the key allows. */
export async function withTlsChoice<T>(login: DbSecret, attempt: (tls: boolean) => Promise<T>): Promise<T> {
  const { useTls, fallBack } = sslChoice(login);
  if (!useTls) return attempt(false);
  try {
    return await attempt(true);
  } catch (e) {
    if (!fallBack || !(e as { [TLS_FAILED]?: boolean })[TLS_FAILED]) throw e;
    return attempt(false);
  }
}

let extraTrust: readonly string[] = [];

/**
 * CA certificates (PEM) the strategies trust for database servers besides Node's bundled roots:
 * set once by the server from `secrets.rotationCaFile` (REKEY_ROTATION_CA_FILE). Process-wide, as
 * NODE_EXTRA_CA_CERTS is.
 */
export function setDatabaseTrust(caPems: readonly string[]): void {
  extraTrust = [...caPems];
}

/** TLS options for a strategy's connection: the server's certificate chain and name are checked. */
export function databaseTls(): { ca: string[]; rejectUnauthorized: true } {
  return { ca: [...rootCertificates, ...extraTrust], rejectUnauthorized: true };
}

export const CONNECT_TIMEOUT_MS = 10_000;
export const STATEMENT_TIMEOUT_MS = 30_000;

/** AWS's alternating-users naming: the other login is `<base>_clone`. */
export const CLONE_SUFFIX = '_clone';

export type Engine = 'postgres' | 'mysql';

// Usernames are validated, and every identifier is still quoted by the driver-specific helpers.
// Letters, digits, underscore, `$` (PostgreSQL and MySQL both allow it unquoted) and '-' / '.'
// (common in MySQL account names); never quotes, backslashes, spaces or NUL.
const USERNAME = /^[A-Za-z_][A-Za-z0-9_$.-]*$/;

/** Limits include room for the `_clone` / `_owner` suffixes the alternating strategies add. */
export function validateSecret(s: DbSecret, engine: Engine, what: string, maxUsername: number): void {
  if (typeof s !== 'object' || s === null) throw new ValidationException(`${what}: the secret value must be a JSON object`);
  const engines = engine === 'postgres' ? ['postgres', 'postgresql', 'aurora-postgresql'] : ['mysql', 'mariadb', 'aurora-mysql', 'aurora'];
  if (typeof s.engine !== 'string' || !engines.includes(s.engine)) {
    throw new ValidationException(`${what}: engine must be one of ${engines.join(', ')}`);
  }
  if (typeof s.host !== 'string' || s.host.length === 0 || s.host.length > 255 || /[\s/\\@]/.test(s.host)) {
    throw new ValidationException(`${what}: host must be a host name or address`);
  }
  if (s.port !== undefined && (!Number.isInteger(Number(s.port)) || Number(s.port) < 1 || Number(s.port) > 65535)) {
    throw new ValidationException(`${what}: port must be an integer between 1 and 65535`);
  }
  if (typeof s.username !== 'string' || !USERNAME.test(s.username) || s.username.length > maxUsername) {
    throw new ValidationException(`${what}: username must match ${USERNAME.source} and be at most ${maxUsername} characters`);
  }
  if (typeof s.password !== 'string' || s.password.length === 0 || s.password.length > 1024) {
    throw new ValidationException(`${what}: password must be a non-empty string`);
  }
  if (s.dbname !== undefined && (typeof s.dbname !== 'string' || s.dbname.length === 0 || s.dbname.length > 64 || s.dbname.includes('\0'))) {
    throw new ValidationException(`${what}: dbname must be a non-empty string of at most 64 characters`);
  }
}

export function portOf(s: DbSecret, dflt: number): number {
  return s.port === undefined ? dflt : Number(s.port);
}

/** The base login of an alternating pair: the username without AWS's `_clone` suffix. */
export function baseUsername(username: string): string {
  return username.endsWith(CLONE_SUFFIX) && username.length > CLONE_SUFFIX.length ? username.slice(0, -CLONE_SUFFIX.length) : username;
}

/** The other login of an alternating pair (AWS's rule: add or remove `_clone`). */
export function otherUsername(username: string): string {
  const base = baseUsername(username);
  return username === base ? base + CLONE_SUFFIX : base;
}

/** createPending for every built-in strategy: AWSCURRENT with the new password (and, alternating, the other login). */
export function pendingFrom(current: DbSecret, password: string, alternate: boolean): DbSecret {
  return { ...current, username: alternate ? otherUsername(current.username) : current.username, password };
}

function redact(message: string, secrets: readonly string[]): string {
  let m = message;
  for (const s of secrets) if (s.length > 0) m = m.split(s).join('[redacted]');
  // MySQL quotes the statement from the error on: "near '<rest of statement>' at line 1".
  m = m.replace(/ near '.*' at line (\d+)/s, " near '…' at line $1");
  // Verifiers and hashes wherever they are.
  m = m.replace(/SCRAM-SHA-256\$[^\s'"]*/g, '[redacted]').replace(/\*[0-9A-Fa-f]{40}/g, '[redacted]');
  // Any quoted literal may be part of a statement (a verifier, a hash): drop its content.
  m = m.replace(/'(?:[^'\\]|\\.|'')*'/g, "'…'");
  // An unbalanced quote (a fragment cut short by the server): drop everything after it.
  if ((m.match(/'/g) ?? []).length % 2 === 1) m = m.slice(0, m.lastIndexOf("'")) + "'…";
  return m.slice(0, 300);
}

interface DriverError {
  code?: unknown; // pg: SQLSTATE; mysql2: 'ER_...'; node: 'ECONNREFUSED'
  errno?: unknown;
  message?: unknown;
}

/** True when the driver error says the server refused the credentials. */
export function isAuthError(e: unknown): boolean {
  const d = e as DriverError;
  // PostgreSQL: 28P01 invalid_password, 28000 invalid_authorization_specification (no such role,
  // or a role without LOGIN). MySQL/MariaDB: 1045 ER_ACCESS_DENIED_ERROR, and 1698
  // ER_ACCESS_DENIED_NO_PASSWORD_ERROR (MariaDB, for some accounts that do not exist).
  return d?.code === '28P01' || d?.code === '28000' || d?.errno === 1045 || d?.errno === 1698;
}

export interface Target {
  user: string;
  host: string;
  port: number;
  /** Which credentials these are, for messages: 'AWSCURRENT', 'AWSPENDING', 'master'. */
  label: string;
}

/** Wraps a driver error: login failures become DatabaseLoginFailedException, the rest DatabaseOperationException. */
export function wrapDbError(e: unknown, t: Target, doing: string, secrets: readonly string[]): Error {
  if (e instanceof DatabaseLoginFailedException || e instanceof DatabaseOperationException || e instanceof ValidationException) return e;
  const d = e as DriverError;
  const code = typeof d?.code === 'string' ? d.code : typeof d?.errno === 'number' ? String(d.errno) : 'unknown';
  const detail = redact(typeof d?.message === 'string' ? d.message : String(e), secrets);
  const who = `user ${t.user} (${t.label}) at ${t.host}:${t.port}`;
  if (isAuthError(e)) return new DatabaseLoginFailedException(`${doing}: login as ${who} was refused (${code}): ${detail}`);
  return new DatabaseOperationException(`${doing}: ${who} failed (${code}): ${detail}`);
}

/** Throws the signal's reason as a rotation error when the job lost its lease. */
export function checkAborted(signal: AbortSignal | undefined, doing: string): void {
  if (signal?.aborted) throw new DatabaseOperationException(`${doing}: aborted (the job lost its lease or the server is stopping)`);
}
