// The barrier: every value rekey stores is encrypted here before it reaches a backend.
//
//   root key --wraps--> keyring (one or more barrier keys, by term) --encrypts--> every value
//
// Value layout (v1): 0x01 | term (u32 BE) | iv (12) | tag (16) | ciphertext
// AAD: "rekey-barrier-v1" 0x00 | term (u32 BE) | storage path (UTF-8)
// so a value copied to another path, or with its term byte changed, fails to decrypt.
// Root-key rotation rewraps the keyring only (O(1)); keyring rotation adds a term used for new
// writes while older terms still decrypt older values.
import { seal, open, randomBytes, zeroize, IV_BYTES, TAG_BYTES, AuthenticationFailed } from '../crypto/index.ts';
import { type Backend, type Op, type PutOptions, type ListOptions, CasConflict } from './backend.ts';
import { InternalFailure, SealedException } from '../errors.ts';
import { reportTamper } from '../diagnostics.ts';

export const SEAL_PATH = 'core/seal';
const KEYRING_AAD = Buffer.from('rekey-keyring-v1');
const VALUE_AAD_PREFIX = Buffer.from('rekey-barrier-v1\0');
const FORMAT_V1 = 0x01;

/** Stored in clear at core/seal: everything needed to unseal except the root key itself. */
export interface SealRecord {
  version: 1;
  /** How the root key is obtained; informational, checked at start to catch a wrong configuration. */
  rootKind: string;
  /** scrypt salt (base64) when rootKind is passphrase. */
  passphraseSalt?: string;
  keyring: { iv: string; tag: string; ciphertext: string };
  rootRotatedAt?: string;
}

interface KeyringPlain {
  activeTerm: number;
  terms: { term: number; key: string; createdAt: string }[];
}

export class BarrierValueError extends Error {
  constructor(readonly path: string) {
    super(`stored value at ${path} failed authentication (tampered, moved or wrong keyring)`);
    this.name = 'BarrierValueError';
  }
}

/** A detection: logged (the path only, src/diagnostics.ts) and returned for the caller to throw. */
function tampered(path: string): BarrierValueError {
  const e = new BarrierValueError(path);
  reportTamper(path, e.message);
  return e;
}

function valueAad(term: number, path: string): Buffer {
  const t = Buffer.alloc(4);
  t.writeUInt32BE(term);
  return Buffer.concat([VALUE_AAD_PREFIX, t, Buffer.from(path, 'utf8')]);
}

function sealKeyring(root: Uint8Array, ring: KeyringPlain): SealRecord['keyring'] {
  const plain = Buffer.from(JSON.stringify(ring));
  try {
    const s = seal(root, plain, KEYRING_AAD);
    return { iv: s.iv.toString('base64'), tag: s.tag.toString('base64'), ciphertext: s.ciphertext.toString('base64') };
  } finally {
    zeroize(plain);
  }
}

function openKeyring(root: Uint8Array, k: SealRecord['keyring']): KeyringPlain {
  let plain: Buffer;
  try {
    plain = open(root, Buffer.from(k.iv, 'base64'), Buffer.from(k.ciphertext, 'base64'), Buffer.from(k.tag, 'base64'), KEYRING_AAD);
  } catch (e) {
    if (e instanceof AuthenticationFailed) throw new SealedException('The root key does not open this data directory\'s keyring (wrong root key?)');
    throw e;
  }
  try {
    return JSON.parse(plain.toString('utf8')) as KeyringPlain;
  } finally {
    zeroize(plain);
  }
}

export async function readSealRecord(backend: Backend): Promise<SealRecord | null> {
  const e = await backend.get(SEAL_PATH);
  return e ? (JSON.parse(Buffer.from(e.value).toString('utf8')) as SealRecord) : null;
}

/** Creates the seal record with a fresh keyring when the store is new. Returns whether it created one. */
export async function initializeSeal(backend: Backend, root: Uint8Array, rootKind: string, passphraseSalt?: string): Promise<boolean> {
  const ring: KeyringPlain = { activeTerm: 1, terms: [{ term: 1, key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() }] };
  const rec: SealRecord = { version: 1, rootKind, keyring: sealKeyring(root, ring), ...(passphraseSalt ? { passphraseSalt } : {}) };
  try {
    await backend.put(SEAL_PATH, Buffer.from(JSON.stringify(rec)), { expectVersion: 0 });
    return true;
  } catch (e) {
    if (e instanceof CasConflict) return false; // another node initialized first
    throw e;
  }
}

/** Rewraps the keyring under a new root key. No stored value is rewritten. */
export async function rotateRoot(backend: Backend, oldRoot: Uint8Array, newRoot: Uint8Array, newKind: string, newPassphraseSalt?: string): Promise<void> {
  const e = await backend.get(SEAL_PATH);
  if (!e) throw new SealedException('This data directory has not been initialized');
  const rec = JSON.parse(Buffer.from(e.value).toString('utf8')) as SealRecord;
  const ring = openKeyring(oldRoot, rec.keyring);
  const next: SealRecord = { version: 1, rootKind: newKind, keyring: sealKeyring(newRoot, ring), rootRotatedAt: new Date().toISOString() };
  if (newPassphraseSalt) next.passphraseSalt = newPassphraseSalt;
  for (const t of ring.terms) t.key = '';
  await backend.put(SEAL_PATH, Buffer.from(JSON.stringify(next)), { expectVersion: e.version });
}

export interface BarrierEntry {
  key: string;
  value: Buffer;
  version: number;
}

/** Encrypting view of a backend. Paths under core/ are reserved for the seal. */
export class Barrier {
  private keys = new Map<number, Buffer>();
  private activeTerm = 0;

  private constructor(readonly backend: Backend) {}

  static async unseal(backend: Backend, root: Uint8Array): Promise<Barrier> {
    const rec = await readSealRecord(backend);
    if (!rec) throw new SealedException('This data directory has not been initialized');
    const b = new Barrier(backend);
    b.load(openKeyring(root, rec.keyring));
    return b;
  }

  private load(ring: KeyringPlain): void {
    for (const k of this.keys.values()) zeroize(k);
    this.keys = new Map(ring.terms.map((t) => [t.term, Buffer.from(t.key, 'base64')]));
    this.activeTerm = ring.activeTerm;
  }

  /** Adds a new barrier key term for new writes (older terms keep decrypting). */
  async rotateKeyring(root: Uint8Array): Promise<number> {
    const e = await this.backend.get(SEAL_PATH);
    if (!e) throw new SealedException('This data directory has not been initialized');
    const rec = JSON.parse(Buffer.from(e.value).toString('utf8')) as SealRecord;
    const ring = openKeyring(root, rec.keyring);
    const term = Math.max(...ring.terms.map((t) => t.term)) + 1;
    ring.terms.push({ term, key: randomBytes(32).toString('base64'), createdAt: new Date().toISOString() });
    ring.activeTerm = term;
    rec.keyring = sealKeyring(root, ring);
    await this.backend.put(SEAL_PATH, Buffer.from(JSON.stringify(rec)), { expectVersion: e.version });
    this.load(ring);
    return term;
  }

  get term(): number {
    return this.activeTerm;
  }

  encrypt(path: string, plain: Uint8Array): Buffer {
    const key = this.keys.get(this.activeTerm);
    if (!key) throw new SealedException('Barrier is sealed');
    const s = seal(key, plain, valueAad(this.activeTerm, path));
    const head = Buffer.alloc(5);
    head[0] = FORMAT_V1;
    head.writeUInt32BE(this.activeTerm, 1);
    return Buffer.concat([head, s.iv, s.tag, s.ciphertext]);
  }

  decrypt(path: string, stored: Uint8Array): Buffer {
    if (this.keys.size === 0) throw new SealedException('Barrier is sealed');
    const buf = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
    if (buf.length < 5 + IV_BYTES + TAG_BYTES || buf[0] !== FORMAT_V1) throw tampered(path);
    const term = buf.readUInt32BE(1);
    const key = this.keys.get(term);
    if (!key) throw tampered(path);
    const iv = buf.subarray(5, 5 + IV_BYTES);
    const tag = buf.subarray(5 + IV_BYTES, 5 + IV_BYTES + TAG_BYTES);
    try {
      return open(key, iv, buf.subarray(5 + IV_BYTES + TAG_BYTES), tag, valueAad(term, path));
    } catch {
      throw tampered(path);
    }
  }

  private guard(path: string): void {
    if (path.startsWith('core/')) throw new InternalFailure(`path ${path} is reserved`);
  }

  async get(path: string): Promise<BarrierEntry | null> {
    this.guard(path);
    const e = await this.backend.get(path);
    return e ? { key: path, value: this.decrypt(path, e.value), version: e.version } : null;
  }

  async getJSON<T>(path: string): Promise<{ value: T; version: number } | null> {
    const e = await this.get(path);
    if (!e) return null;
    try {
      return { value: JSON.parse(e.value.toString('utf8')) as T, version: e.version };
    } finally {
      zeroize(e.value);
    }
  }

  async put(path: string, value: Uint8Array, opts?: PutOptions): Promise<number> {
    this.guard(path);
    return this.backend.put(path, this.encrypt(path, value), opts);
  }

  async putJSON(path: string, value: unknown, opts?: PutOptions): Promise<number> {
    const plain = Buffer.from(JSON.stringify(value));
    try {
      return await this.put(path, plain, opts);
    } finally {
      zeroize(plain);
    }
  }

  async delete(path: string, opts?: PutOptions): Promise<boolean> {
    this.guard(path);
    return this.backend.delete(path, opts);
  }

  list(prefix: string, opts?: ListOptions): Promise<string[]> {
    return this.backend.list(prefix, opts);
  }

  /** Atomic batch; put values are plaintext here and encrypted on the way down. */
  async transaction(ops: Op[]): Promise<void> {
    const enc: Op[] = ops.map((op) => {
      this.guard(op.key);
      return op.type === 'put' ? { ...op, value: this.encrypt(op.key, op.value) } : op;
    });
    await this.backend.transaction(enc);
  }

  /** JSON helper for transaction ops. */
  static putOp(key: string, value: unknown, expectVersion?: number): Op {
    return expectVersion === undefined ? { type: 'put', key, value: Buffer.from(JSON.stringify(value)) } : { type: 'put', key, value: Buffer.from(JSON.stringify(value)), expectVersion };
  }

  /** Zeroes the keyring in memory. */
  seal(): void {
    for (const k of this.keys.values()) zeroize(k);
    this.keys.clear();
  }
}

