// The barrier: every value rekey stores is encrypted here before it reaches a backend.
//
//   root key --wraps--> keyring (one or more barrier keys, by term) --encrypts--> every value
//
// Value layout (v2, written): 0x02 | term (u32 BE) | stamp (u64 BE) | iv (12) | tag (16) | ciphertext
// AAD: "rekey-barrier-v2" 0x00 | term (u32 BE) | stamp (u64 BE) | storage path (UTF-8)
// Value layout (v1, still read, stamp 0): 0x01 | term | iv | tag | ciphertext, AAD "rekey-barrier-v1" 0x00 | term | path
// so a value copied to another path, or with its term or stamp changed, fails to decrypt. The stamp
// (a write clock, src/storage/rollback.ts) lets a RollbackGuard tell an older copy of a row from
// the current one.
// Root-key rotation rewraps the keyring only (O(1)); keyring rotation adds a term used for new
// writes while older terms still decrypt older values.
import { seal, open, randomBytes, zeroize, IV_BYTES, TAG_BYTES, AuthenticationFailed } from '../crypto/index.ts';
import { type Backend, type Op, type PutOptions, type ListOptions, type TransactionOptions, CasConflict } from './backend.ts';
import { InternalFailure, SealedException } from '../errors.ts';
import { reportTamper } from '../diagnostics.ts';
import { hmacSha256 } from '../crypto/index.ts';
import type { RollbackGuard } from './rollback.ts';

export const SEAL_PATH = 'core/seal';
const KEYRING_AAD = Buffer.from('rekey-keyring-v1');
const VALUE_AAD_PREFIX = Buffer.from('rekey-barrier-v1\0');
const VALUE_AAD_V2_PREFIX = Buffer.from('rekey-barrier-v2\0');
const FORMAT_V1 = 0x01;
const FORMAT_V2 = 0x02;
const V1_HEAD = 5;
const V2_HEAD = 13;

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
  constructor(readonly path: string, reason = 'failed authentication (tampered, moved or wrong keyring)') {
    super(`stored value at ${path} ${reason}`);
    this.name = 'BarrierValueError';
  }
}

/** A detection: logged (the path only, src/diagnostics.ts) and returned for the caller to throw. */
function tampered(path: string, reason?: string): BarrierValueError {
  const e = new BarrierValueError(path, reason);
  reportTamper(path, e.message);
  return e;
}

function valueAad(term: number, path: string): Buffer {
  const t = Buffer.alloc(4);
  t.writeUInt32BE(term);
  return Buffer.concat([VALUE_AAD_PREFIX, t, Buffer.from(path, 'utf8')]);
}

function valueAadV2(term: number, stamp: number, path: string): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt32BE(term);
  h.writeBigUInt64BE(BigInt(stamp), 4);
  return Buffer.concat([VALUE_AAD_V2_PREFIX, h, Buffer.from(path, 'utf8')]);
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
  private guard_: RollbackGuard | null = null;
  /** Write stamps when no guard is attached (tools, tests): the same clock rule. */
  private clock = 0;

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

  /** Attaches the node's rollback guard: stamps come from it, and reads and writes are checked and recorded. */
  attachRollbackGuard(g: RollbackGuard): void {
    this.guard_ = g;
  }

  get rollbackGuard(): RollbackGuard | null {
    return this.guard_;
  }

  /** A key for node-local state about this store (HMAC of the oldest barrier key): stable across root and keyring rotation. */
  deriveLocalKey(label: string): Buffer {
    const key = this.keys.get(Math.min(...this.keys.keys()));
    if (!key) throw new SealedException('Barrier is sealed');
    return hmacSha256(key, `rekey-local-key-v1\0${label}`);
  }

  private nextStamp(): number {
    if (this.guard_) return this.guard_.stamp();
    this.clock = Math.max(Date.now() * 1024, this.clock + 1);
    return this.clock;
  }

  encrypt(path: string, plain: Uint8Array): Buffer {
    return this.encryptStamped(path, plain, this.nextStamp());
  }

  private encryptStamped(path: string, plain: Uint8Array, stamp: number): Buffer {
    const key = this.keys.get(this.activeTerm);
    if (!key) throw new SealedException('Barrier is sealed');
    const s = seal(key, plain, valueAadV2(this.activeTerm, stamp, path));
    const head = Buffer.alloc(V2_HEAD);
    head[0] = FORMAT_V2;
    head.writeUInt32BE(this.activeTerm, 1);
    head.writeBigUInt64BE(BigInt(stamp), 5);
    return Buffer.concat([head, s.iv, s.tag, s.ciphertext]);
  }

  decrypt(path: string, stored: Uint8Array): Buffer {
    return this.decryptStamped(path, stored).value;
  }

  /** The plaintext and the write stamp (0 for v1 values, written before stamps). */
  decryptStamped(path: string, stored: Uint8Array): { value: Buffer; stamp: number } {
    if (this.keys.size === 0) throw new SealedException('Barrier is sealed');
    const buf = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
    const v2 = buf[0] === FORMAT_V2;
    const head = v2 ? V2_HEAD : V1_HEAD;
    if (buf.length < head + IV_BYTES + TAG_BYTES || (buf[0] !== FORMAT_V1 && !v2)) throw tampered(path);
    const term = buf.readUInt32BE(1);
    const stamp = v2 ? Number(buf.readBigUInt64BE(5)) : 0;
    const key = this.keys.get(term);
    if (!key || !Number.isSafeInteger(stamp)) throw tampered(path);
    const iv = buf.subarray(head, head + IV_BYTES);
    const tag = buf.subarray(head + IV_BYTES, head + IV_BYTES + TAG_BYTES);
    try {
      return { value: open(key, iv, buf.subarray(head + IV_BYTES + TAG_BYTES), tag, v2 ? valueAadV2(term, stamp, path) : valueAad(term, path)), stamp };
    } catch {
      throw tampered(path);
    }
  }

  private guard(path: string): void {
    if (path.startsWith('core/')) throw new InternalFailure(`path ${path} is reserved`);
  }

  async get(path: string): Promise<BarrierEntry | null> {
    this.guard(path);
    const startedAt = this.guard_?.readStart() ?? 0;
    const e = await this.backend.get(path);
    if (!e) {
      this.guard_?.missing(path, startedAt);
      return null;
    }
    const { value, stamp } = this.decryptStamped(path, e.value);
    const verdict = this.guard_?.read(path, stamp, startedAt) ?? null;
    if (verdict) {
      zeroize(value);
      throw tampered(path, verdict.reason);
    }
    return { key: path, value, version: e.version };
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
    const stamp = this.nextStamp();
    const g = this.guard_;
    const stored = this.encryptStamped(path, value, stamp);
    g?.writeStart(path, stamp);
    let ok = false;
    try {
      const version = await this.backend.put(path, stored, opts);
      ok = true;
      return version;
    } finally {
      g?.writeEnd(path, stamp, ok, opts?.expectVersion === undefined);
    }
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
    const deleted = await this.backend.delete(path, opts);
    // only a delete that happened: a compare-and-swap that lost leaves a newer row, not a deletion
    if (deleted) this.guard_?.deleted(path);
    return deleted;
  }

  list(prefix: string, opts?: ListOptions): Promise<string[]> {
    return this.backend.list(prefix, opts);
  }

  /** Atomic batch; put values are plaintext here and encrypted on the way down. `durable: false`: see Backend.transaction. */
  async transaction(ops: Op[], opts?: TransactionOptions): Promise<void> {
    const stamps: number[] = [];
    const enc: Op[] = ops.map((op) => {
      this.guard(op.key);
      if (op.type !== 'put') return op;
      const stamp = this.nextStamp();
      stamps.push(stamp);
      return { ...op, value: this.encryptStamped(op.key, op.value, stamp) };
    });
    const g = this.guard_;
    const puts = ops.filter((op) => op.type === 'put').map((op, i) => [op.key, stamps[i]!, op.expectVersion === undefined] as const);
    for (const [key, stamp] of puts) g?.writeStart(key, stamp);
    let ok = false;
    try {
      await this.backend.transaction(enc, opts);
      ok = true;
    } finally {
      for (const [key, stamp, blind] of puts) g?.writeEnd(key, stamp, ok, blind);
    }
    for (const op of ops) if (op.type === 'delete') g?.deleted(op.key);
  }

  /** Makes relaxed (durable: false) transactions durable; a no-op on backends without relaxed commits. */
  async sync(): Promise<void> {
    await this.backend.sync?.();
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

