// Password verifiers that databases store instead of passwords, computed here so that a rotation
// never sends a plaintext password to a database server (where statement logging could record it).
//
// RFC 5802 / RFC 7677 (SCRAM-SHA-256):
//   SaltedPassword := Hi(Normalize(password), salt, i)      (Hi = PBKDF2-HMAC-SHA-256)
//   ClientKey      := HMAC(SaltedPassword, "Client Key")
//   StoredKey      := H(ClientKey)
//   ServerKey      := HMAC(SaltedPassword, "Server Key")
// PostgreSQL stores `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64 fields) and
// accepts that string in CREATE/ALTER ROLE ... PASSWORD '<verifier>' as an already-hashed password.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export const SCRAM_DEFAULT_ITERATIONS = 4096; // PostgreSQL's scram_iterations default
export const SCRAM_SALT_BYTES = 16; // PostgreSQL's SCRAM_DEFAULT_SALT_LEN

export interface ScramKeys {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** SaltedPassword := Hi(password, salt, i). The caller zeroes the result. */
export function scramSaltedPassword(password: string, salt: Uint8Array, iterations: number): Buffer {
  // RFC 7677 asks for SASLprep; PostgreSQL applies it leniently and uses the raw bytes when the
  // password is not valid UTF-8 or prep fails. rekey's generated passwords are printable ASCII,
  // for which SASLprep is the identity.
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
}

export function scramKeys(password: string, salt: Uint8Array = randomBytes(SCRAM_SALT_BYTES), iterations = SCRAM_DEFAULT_ITERATIONS): ScramKeys {
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new RangeError('iterations must be a positive integer');
  const salted = scramSaltedPassword(password, salt, iterations);
  try {
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const storedKey = createHash('sha256').update(clientKey).digest();
    const serverKey = createHmac('sha256', salted).update('Server Key').digest();
    clientKey.fill(0);
    return { salt: Buffer.from(salt), iterations, storedKey, serverKey };
  } finally {
    salted.fill(0);
  }
}

/** PostgreSQL's stored form: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>. */
export function postgresScramVerifier(password: string, salt?: Uint8Array, iterations?: number): string {
  const k = scramKeys(password, salt, iterations);
  return `SCRAM-SHA-256$${k.iterations}:${k.salt.toString('base64')}$${k.storedKey.toString('base64')}:${k.serverKey.toString('base64')}`;
}

/** Parses PostgreSQL's stored form; undefined when it is not one. */
export function parsePostgresScramVerifier(v: string): ScramKeys | undefined {
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(v);
  if (!m) return undefined;
  const storedKey = Buffer.from(m[3]!, 'base64');
  const serverKey = Buffer.from(m[4]!, 'base64');
  if (storedKey.length !== 32 || serverKey.length !== 32) return undefined;
  return { iterations: Number(m[1]), salt: Buffer.from(m[2]!, 'base64'), storedKey, serverKey };
}

/**
 * MySQL/MariaDB mysql_native_password stored form: '*' + upper-hex(SHA1(SHA1(password))).
 * Accepted by `ALTER USER ... IDENTIFIED BY PASSWORD '<hash>'` (MariaDB) and
 * `IDENTIFIED WITH mysql_native_password AS '<hash>'` (MySQL 8), so no plaintext is sent.
 */
export function mysqlNativePasswordHash(password: string): string {
  const inner = createHash('sha1').update(Buffer.from(password, 'utf8')).digest();
  const outer = createHash('sha1').update(inner).digest();
  inner.fill(0);
  return '*' + outer.toString('hex').toUpperCase();
}
