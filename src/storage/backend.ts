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
  /** Applies all ops atomically: either every op (and every CAS check) succeeds, or nothing changes. */
  transaction(ops: Op[]): Promise<void>;
  close(): Promise<void>;
}

export class CasConflict extends Error {
  constructor(readonly key: string) {
    super(`compare-and-swap conflict on ${key}`);
    this.name = 'CasConflict';
  }
}

/** Keys are printable ASCII without NUL, at most 512 bytes: the same rule on every backend. */
export function checkKey(key: string): void {
  if (key.length === 0 || key.length > 512 || !/^[\x20-\x7e]+$/.test(key)) {
    throw new RangeError(`invalid storage key: ${JSON.stringify(key.slice(0, 64))}`);
  }
}
