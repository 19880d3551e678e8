// Stored records of the identity component and where they live (every value goes through the
// barrier). Names of users, roles and MFA devices are unique without regard to case, as in AWS
// IAM ("names are not distinguished by case"), so storage paths use the lower-cased name.
import { randomInt, zeroize } from '../crypto/index.ts';
import type { BarrierView } from '../storage/gate.ts';
import type { Op } from '../storage/backend.ts';
import { ValidationException } from '../errors.ts';

export interface UserRecord {
  name: string;
  arn: string;
  /** AWS unique id, AIDA + 17 characters. */
  userId: string;
  accountId: string;
  createdAt: string;
  /** Inline identity policies by name. */
  policies: Record<string, string>;
}

export interface RoleRecord {
  name: string;
  arn: string;
  /** AWS unique id, AROA + 17 characters. */
  roleId: string;
  accountId: string;
  createdAt: string;
  description?: string;
  /** Who may assume the role (a resource-based policy on the role, kind 'trust'). */
  trustPolicy: string;
  /** Seconds; AWS: 3600 (default) to 43200. */
  maxSessionDuration: number;
  policies: Record<string, string>;
}

export interface MfaDeviceRecord {
  /** arn:aws:iam::<account>:mfa/<name> */
  serialNumber: string;
  name: string;
  /** The user the device is enabled for (set by enable). */
  userName?: string;
  /** RFC 4648 base32 secret. */
  secret: string;
  enabled: boolean;
  createdAt: string;
  enabledAt?: string;
  /** Highest TOTP time step accepted so far: a code is never accepted twice. */
  lastStep: number;
}

export interface SessionRecord {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  accountId: string;
  type: 'IAMUser' | 'AssumedRole';
  /** The session's caller ARN: the user's ARN (GetSessionToken) or the assumed-role session ARN. */
  arn: string;
  principalId: string;
  userName?: string;
  roleName?: string;
  roleArn?: string;
  sessionName?: string;
  issuedAt: number;
  expiresAt: number;
  mfaAuthenticated: boolean;
  mfaAuthenticatedAt?: number;
  /** The long-term access key the session was created from (GetSessionToken), if any. */
  sourceAccessKeyId?: string;
}

export const PATHS = {
  user: (name: string) => `iam/users/${name.toLowerCase()}`,
  users: 'iam/users/',
  role: (name: string) => `iam/roles/${name.toLowerCase()}`,
  roles: 'iam/roles/',
  accessKey: (id: string) => `iam/access-keys/${id}`,
  /** Secondary index: the access keys of a user. */
  userKey: (user: string, id: string) => `iam/user-keys/${user.toLowerCase()}/${id}`,
  userKeys: (user: string) => `iam/user-keys/${user.toLowerCase()}/`,
  mfa: (name: string) => `iam/mfa/${name.toLowerCase()}`,
  mfas: 'iam/mfa/',
  session: (id: string) => `iam/sessions/${id}`,
  sessions: 'iam/sessions/',
} as const;

export const BOOTSTRAP_USER = 'rekey-admin';
export const ADMIN_POLICY_NAME = 'AdministratorAccess';
/** The AWS managed policy AdministratorAccess, attached inline to the bootstrap administrator. */
export const ADMINISTRATOR_ACCESS = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** AWS-style unique id: a 4-letter prefix (AKIA, ASIA, AIDA, AROA) and base32 characters. */
export function uniqueId(prefix: string, length: number): string {
  let s = prefix;
  for (let i = 0; i < length; i++) s += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return s;
}

/** AWS: "Member must satisfy regular expression pattern: [\w+=,.@-]+" with a length range. */
export function checkName(value: unknown, member: string, max: number, min = 1): string {
  if (typeof value !== 'string' || value.length < min || value.length > max) {
    throw new ValidationException(`1 validation error detected: Value '${String(value).slice(0, 128)}' at '${member}' failed to satisfy constraint: Member must have length between ${min} and ${max}`);
  }
  if (!/^[\w+=,.@-]+$/.test(value)) {
    throw new ValidationException(`1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`);
  }
  return value;
}

export function nowIso(clock: () => Date): string {
  return clock().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A JSON put for Barrier.transaction. */
export function putOp(key: string, value: unknown, expectVersion?: number): Op {
  const v = Buffer.from(JSON.stringify(value));
  return expectVersion === undefined ? { type: 'put', key, value: v } : { type: 'put', key, value: v, expectVersion };
}

export function deleteOp(key: string, expectVersion?: number): Op {
  return expectVersion === undefined ? { type: 'delete', key } : { type: 'delete', key, expectVersion };
}

/**
 * Stores a new record at `path`: a path already taken is refused with `exists()` before anything is
 * written (so a mutating call's audit gate is not passed: its one event carries the error), and by
 * the compare-and-swap when another writer got there between the read and the write.
 */
export async function putNew(barrier: Pick<BarrierView, 'get' | 'putJSON'>, path: string, value: unknown, exists: () => Error): Promise<void> {
  if (await barrier.get(path)) throw exists();
  try {
    await barrier.putJSON(path, value, { expectVersion: 0 });
  } catch (e) {
    if ((e as Error).name === 'CasConflict') throw exists();
    throw e;
  }
}

/** Barrier.transaction, zeroing the plaintext JSON of the puts afterwards (they may hold secrets). */
export async function transact(barrier: Pick<BarrierView, 'transaction'>, ops: Op[]): Promise<void> {
  try {
    await barrier.transaction(ops);
  } finally {
    for (const op of ops) if (op.type === 'put') zeroize(op.value);
  }
}
