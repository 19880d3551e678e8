// In-memory backend: for unit tests and the conformance suite's reference. Not durable.
import {
  type Backend, type Entry, type ListOptions, type Op, type PutOptions,
  CasConflict, checkExpectVersion, checkKey, checkListOptions, checkOps, checkValue,
} from './backend.ts';

export class MemoryBackend implements Backend {
  readonly kind = 'memory';
  private readonly data = new Map<string, { value: Uint8Array; version: number }>();
  private closed = false;

  async get(key: string): Promise<Entry | null> {
    this.open();
    checkKey(key);
    const e = this.data.get(key);
    return e ? { key, value: Uint8Array.from(e.value), version: e.version } : null;
  }

  async put(key: string, value: Uint8Array, opts: PutOptions = {}): Promise<number> {
    this.open();
    checkValue(key, value);
    this.check(key, opts.expectVersion);
    return this.apply({ key, value });
  }

  async delete(key: string, opts: PutOptions = {}): Promise<boolean> {
    this.open();
    this.check(key, opts.expectVersion);
    return this.data.delete(key);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<string[]> {
    this.open();
    checkListOptions(prefix, opts);
    // Keys are ASCII, so JavaScript's UTF-16 order is byte order.
    const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix) && (opts.after === undefined || k > opts.after)).sort();
    return opts.limit === undefined ? keys : keys.slice(0, opts.limit);
  }

  async transaction(ops: Op[]): Promise<void> {
    this.open();
    checkOps(ops);
    for (const op of ops) this.check(op.key, op.expectVersion);
    for (const op of ops) {
      if (op.type === 'put') this.apply(op);
      else this.data.delete(op.key);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private open(): void {
    if (this.closed) throw new Error('memory backend is closed');
  }

  private check(key: string, expectVersion: number | undefined): void {
    checkKey(key);
    checkExpectVersion(expectVersion);
    if (expectVersion === undefined) return;
    const current = this.data.get(key)?.version ?? 0;
    if (current !== expectVersion) throw new CasConflict(key);
  }

  private apply(op: { key: string; value: Uint8Array }): number {
    const version = (this.data.get(op.key)?.version ?? 0) + 1;
    this.data.set(op.key, { value: Uint8Array.from(op.value), version });
    return version;
  }
}
