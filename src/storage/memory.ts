// In-memory backend: for unit tests and the conformance suite's reference. Not durable.
import { type Backend, type Entry, type ListOptions, type Op, type PutOptions, CasConflict, checkKey } from './backend.ts';

export class MemoryBackend implements Backend {
  readonly kind = 'memory';
  private readonly data = new Map<string, { value: Uint8Array; version: number }>();

  async get(key: string): Promise<Entry | null> {
    checkKey(key);
    const e = this.data.get(key);
    return e ? { key, value: Uint8Array.from(e.value), version: e.version } : null;
  }

  async put(key: string, value: Uint8Array, opts: PutOptions = {}): Promise<number> {
    this.check(key, opts.expectVersion);
    return this.apply({ key, value });
  }

  async delete(key: string, opts: PutOptions = {}): Promise<boolean> {
    this.check(key, opts.expectVersion);
    return this.data.delete(key);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<string[]> {
    const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix) && (opts.after === undefined || k > opts.after)).sort();
    return opts.limit === undefined ? keys : keys.slice(0, opts.limit);
  }

  async transaction(ops: Op[]): Promise<void> {
    for (const op of ops) this.check(op.key, op.expectVersion);
    for (const op of ops) {
      if (op.type === 'put') this.apply(op);
      else this.data.delete(op.key);
    }
  }

  async close(): Promise<void> {}

  private check(key: string, expectVersion: number | undefined): void {
    checkKey(key);
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
