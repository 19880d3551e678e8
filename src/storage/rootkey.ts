// Root key sources: where the 32-byte key that wraps the barrier keyring comes from.
//
//   dev        generated once into <dataDir>/dev-root.key (0600), beside the data: development only
//   file       a file holding 32 raw bytes, 64 hex characters or base64 of 32 bytes
//   env        an environment variable holding hex or base64 of 32 bytes
//   passphrase scrypt(passphrase from an environment variable, 16-byte salt kept in the seal record)
//
// Error messages name the source (path, variable) and what is wrong with it, never key bytes, file
// contents or the passphrase.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KEY_BYTES, randomBytes, scrypt, zeroize, type ScryptParams } from '../crypto/index.ts';
import { ConfigurationError } from '../errors.ts';
import type { Backend } from './backend.ts';
import { readSealRecord } from './barrier.ts';

export type RootKeyConfig =
  | { source: 'dev' }
  | { source: 'file'; path: string }
  | { source: 'env'; variable: string }
  | { source: 'passphrase'; variable: string };

export interface RootKey {
  /** 32 bytes; the caller zeroizes it when done. */
  key: Buffer;
  /** Recorded in the seal record as rootKind. */
  kind: RootKeyConfig['source'];
  /** base64 scrypt salt, for passphrase keys. */
  passphraseSalt?: string;
  warning?: string;
}

export interface LoadRootKeyOptions {
  /** 'unseal' (default) opens the existing store or creates it; 'rewrap' is the target of a root rotation. */
  purpose?: 'unseal' | 'rewrap';
  /** Where env and passphrase sources are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export const DEV_KEY_FILE = 'dev-root.key';
export const MIN_PASSPHRASE_LENGTH = 12;
const SALT_BYTES = 16;
// Pinned here, not crypto's DEFAULT_SCRYPT: the seal record stores only the salt, so changing these
// would make every passphrase-sealed store look like it has the wrong passphrase. Raising them
// needs a params field in the seal record first.
export const PASSPHRASE_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 1 << 15, r: 8, p: 1 });

export async function loadRootKey(cfg: RootKeyConfig, dataDir: string, backend: Backend, opts: LoadRootKeyOptions = {}): Promise<RootKey> {
  const env = opts.env ?? process.env;
  const purpose = opts.purpose ?? 'unseal';
  switch (cfg.source) {
    case 'dev':
      if (purpose === 'rewrap') throw new ConfigurationError('a dev root key cannot be the target of a root rotation: it is stored beside the data it protects');
      return loadDevKey(dataDir, backend);
    case 'file':
      return loadFileKey(cfg.path);
    case 'env':
      return { key: decodeEnvKey(cfg.variable, env[cfg.variable]), kind: 'env' };
    case 'passphrase':
      return derivePassphraseKey(cfg.variable, env[cfg.variable], backend, purpose);
    default:
      throw new ConfigurationError(`unknown root key source ${JSON.stringify((cfg as { source?: unknown }).source)}`);
  }
}

async function loadDevKey(dataDir: string, backend: Backend): Promise<RootKey> {
  const path = join(dataDir, DEV_KEY_FILE);
  const warning =
    `DEV ROOT KEY IN USE: the root key is stored unprotected in ${path}, next to the data it encrypts. ` +
    'Anyone who can read the data directory can decrypt everything. Never use this in production: ' +
    'configure a file, env or passphrase root key and run `rekey operator rotate-root`.';
  let raw = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw new ConfigurationError(`cannot read the dev root key ${path} (${e.code ?? 'error'})`);
  });
  if (raw === null) {
    const rec = await readSealRecord(backend);
    if (rec) {
      // A fresh dev key could never open an existing keyring; say so instead of "wrong root key".
      throw new ConfigurationError(`this data directory is already initialized (sealed with ${rootKeyPhrase(rec.rootKind)}) and has no ${DEV_KEY_FILE}; configure the root key it was sealed with`);
    }
    const key = randomBytes(KEY_BYTES);
    try {
      await writeFile(path, key, { mode: 0o600, flag: 'wx' });
      return { key, kind: 'dev', warning };
    } catch (e) {
      zeroize(key);
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigurationError(`cannot create the dev root key ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      raw = await readFile(path); // another process created it first: use theirs
    }
  }
  try {
    if (raw.length !== KEY_BYTES) throw new ConfigurationError(`the dev root key ${path} is corrupt (expected ${KEY_BYTES} bytes, found ${raw.length})`);
    return { key: Buffer.from(raw), kind: 'dev', warning };
  } finally {
    zeroize(raw);
  }
}

async function loadFileKey(path: string): Promise<RootKey> {
  if (!path) throw new ConfigurationError('the root key file path is empty');
  const raw = await readFile(path).catch((e: NodeJS.ErrnoException) => {
    const why = e.code === 'ENOENT' ? 'does not exist' : e.code === 'EACCES' ? 'is not readable (permission denied)' : e.code === 'EISDIR' ? 'is a directory' : `cannot be read (${e.code ?? 'error'})`;
    throw new ConfigurationError(`root key file ${path} ${why}`);
  });
  try {
    const key = raw.length === KEY_BYTES ? Buffer.from(raw) : decodeText(raw.toString('latin1').trim());
    if (!key) {
      throw new ConfigurationError(
        `root key file ${path} must hold a ${KEY_BYTES}-byte key: exactly ${KEY_BYTES} raw bytes, 64 hex characters, or base64 (it holds ${raw.length} bytes)`,
      );
    }
    const mode = (await stat(path)).mode & 0o777;
    const warning = mode & 0o077 ? `root key file ${path} is accessible to group or others (mode ${mode.toString(8).padStart(4, '0')}); restrict it with chmod 600` : undefined;
    return { key, kind: 'file', ...(warning ? { warning } : {}) };
  } finally {
    zeroize(raw);
  }
}

function decodeEnvKey(variable: string, value: string | undefined): Buffer {
  if (value === undefined || value === '') throw new ConfigurationError(`environment variable ${variable} (root key) is not set`);
  const key = decodeText(value.trim());
  if (!key) throw new ConfigurationError(`environment variable ${variable} must hold a ${KEY_BYTES}-byte root key as 64 hex characters or base64 (it holds ${value.length} characters)`);
  return key;
}

async function derivePassphraseKey(variable: string, passphrase: string | undefined, backend: Backend, purpose: 'unseal' | 'rewrap'): Promise<RootKey> {
  if (passphrase === undefined || passphrase === '') throw new ConfigurationError(`environment variable ${variable} (root key passphrase) is not set`);
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) throw new ConfigurationError(`the passphrase in ${variable} is shorter than ${MIN_PASSPHRASE_LENGTH} characters`);
  let saltB64: string;
  const rec = purpose === 'unseal' ? await readSealRecord(backend) : null;
  if (rec) {
    if (!rec.passphraseSalt) throw new ConfigurationError(`this data directory is sealed with ${rootKeyPhrase(rec.rootKind)}, not a passphrase`);
    saltB64 = rec.passphraseSalt;
  } else {
    // A new store, or a rotation: always a fresh salt, even for the same passphrase.
    saltB64 = randomBytes(SALT_BYTES).toString('base64');
  }
  const salt = Buffer.from(saltB64, 'base64');
  if (salt.length !== SALT_BYTES) throw new ConfigurationError('the passphrase salt in the seal record is malformed');
  return { key: scrypt(passphrase, salt, PASSPHRASE_SCRYPT), kind: 'passphrase', passphraseSalt: saltB64 };
}

/** "a file root key", "an env root key": for messages. */
export function rootKeyPhrase(kind: string): string {
  return `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} root key`;
}

/** 64 hex characters or base64/base64url of exactly 32 bytes; null otherwise. */
function decodeText(t: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(t)) return Buffer.from(t, 'base64');
  if (/^[A-Za-z0-9_-]{43}=?$/.test(t)) return Buffer.from(t, 'base64url');
  return null;
}
