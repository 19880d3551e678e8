// The physical storage interface, in the spirit of Vault's physical backends: opaque bytes under
// string keys. Storage is untrusted; everything rekey writes goes through the Barrier first.
//
// Versions: every put bumps an entry's version (starting at 1). A put or delete may carry
// `expectVersion` for compare-and-swap: 0 means "must not exist", n means "must be at version n".
// A failed comparison throws CasConflict and writes nothing.

export interface Entry {
  key: string;
  value: Uint8Array;
  version: number;
}

export interface PutOptions {
  expectVersion?: number;
}

export type Op =
  | { type: 'put'; key: string; value: Uint8Array; expectVersion?: number }
  | { type: 'delete'; key: string; expectVersion?: number };

export interface TransactionOptions {
  /** Default true: the commit is flushed to stable storage before the call returns. */
  durable?: boolean;
}

export interface ListOptions {
  /** Only keys strictly greater than this (full key, not relative to prefix). */
  after?: string;
  /** At most this many keys (default: all). */
  limit?: number;
}

export interface Backend {
  readonly kind: string;
  get(key: string): Promise<Entry | null>;
  /** Returns the new version. */
  put(key: string, value: Uint8Array, opts?: PutOptions): Promise<number>;
  /** Returns true when something was deleted. */
  delete(key: string, opts?: PutOptions): Promise<boolean>;
  /** Keys starting with prefix, in ascending byte order. */
  list(prefix: string, opts?: ListOptions): Promise<string[]>;
  /**
   * Applies all ops atomically: either every op (and every CAS check) succeeds, or nothing changes.
   * `durable: false` lets a backend skip the flush at commit (the commit is atomic and survives a
   * process crash, but a power loss may undo it until the next durable commit or sync()); a backend
   * that cannot relax ignores it. Only the audit store copy asks for it, and only while a file sink
   * makes each batch durable (src/audit/log.ts).
   */
  transaction(ops: Op[], opts?: TransactionOptions): Promise<void>;
  /** Makes every commit so far durable (after relaxed transactions). Absent: every commit already is. */
  sync?(): Promise<void>;
  close(): Promise<void>;
}

export class CasConflict extends Error {
  constructor(readonly key: string) {
    super(`compare-and-swap conflict on ${key}`);
    this.name = 'CasConflict';
  }
}

const MAX_KEY = 512;
const PRINTABLE = /^[\x20-\x7e]*$/;

/** Keys are printable ASCII without NUL, at most 512 bytes: the same rule on every backend. */
export function isValidKey(key: string): boolean {
  return typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY && PRINTABLE.test(key);
}

/** Throws RangeError for a key that breaks the rule of isValidKey (a programming error, not input). */
export function checkKey(key: string): void {
  if (!isValidKey(key)) {
    throw new RangeError(`invalid storage key: ${JSON.stringify(String(key).slice(0, 64))}`);
  }
}

export function checkValue(key: string, value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) throw new RangeError(`value for ${key} must be a Uint8Array`);
}

/** A list prefix or `after` bound follows the key rule but may be empty. */
export function checkPrefix(prefix: string, what = 'prefix'): void {
  if (typeof prefix !== 'string' || prefix.length > MAX_KEY || !PRINTABLE.test(prefix)) {
    throw new RangeError(`invalid list ${what}: ${JSON.stringify(String(prefix).slice(0, 64))}`);
  }
}

/** expectVersion is absent, 0 ("must not exist") or a positive safe integer. */
export function checkExpectVersion(v: number | undefined): void {
  if (v !== undefined && !(Number.isSafeInteger(v) && v >= 0)) throw new RangeError(`invalid expectVersion: ${String(v)}`);
}

export function checkListOptions(prefix: string, opts: ListOptions): void {
  checkPrefix(prefix);
  if (opts.after !== undefined) checkPrefix(opts.after, 'after');
  if (opts.limit !== undefined && !(Number.isSafeInteger(opts.limit) && opts.limit >= 0)) throw new RangeError(`invalid list limit: ${String(opts.limit)}`);
}

/**
 * Validates a batch before any backend touches it. A key may appear only once: with two ops on one
 * key, "check every CAS, then apply" and "apply in order" disagree, and SQL backends apply in order.
 * Rejecting the ambiguity keeps every backend identical (and lets SQL backends sort ops by key, so
 * concurrent transactions lock rows in one order and cannot deadlock).
 */
export function checkOps(ops: readonly Op[]): void {
  if (!Array.isArray(ops)) throw new RangeError('transaction ops must be an array');
  const seen = new Set<string>();
  for (const op of ops) {
    checkKey(op.key);
    checkExpectVersion(op.expectVersion);
    if (op.type !== 'put' && op.type !== 'delete') throw new RangeError(`invalid transaction op type on ${op.key}`);
    if (op.type === 'put' && !(op.value instanceof Uint8Array)) throw new RangeError(`transaction put on ${op.key} needs a Uint8Array value`);
    if (seen.has(op.key)) throw new RangeError(`transaction touches ${op.key} more than once`);
    seen.add(op.key);
  }
}

/**
 * Exclusive upper bound of the key range that starts with `prefix`. Keys only hold bytes up to 0x7e,
 * so `prefix + 0x7f` is greater than every key with that prefix and smaller than every larger key
 * without it. SQL backends list with `key >= prefix AND key < bound` instead of LIKE, so '%' and '_'
 * in a prefix are plain characters.
 */
export function prefixUpperBound(prefix: string): string {
  return prefix + '\x7f';
}

/** A Buffer view of a Uint8Array without copying (drivers want Buffers). */
export function asBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
