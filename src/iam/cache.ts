// A small read-through cache with a time to live. Identity data is read on every request, so it
// is cached; the TTL bounds how long another node's change (a disabled key, a changed policy, a
// deleted user) can go unseen: under one second. Changes made through this node update the cache
// at once. Misses (null) are cached too, so unknown ids cost one storage read per TTL.
export class TtlCache<V> {
  private readonly map = new Map<string, { value: V | null; at: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly max = 10_000,
  ) {}

  /** The cached value (null: known absent), or undefined when missing or stale. */
  peek(key: string): V | null | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    if (this.now() - hit.at >= this.ttlMs) return undefined;
    return hit.value;
  }

  set(key: string, value: V | null): void {
    if (this.map.size >= this.max && !this.map.has(key)) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, { value, at: this.now() });
  }

  async get(key: string, load: () => Promise<V | null>): Promise<V | null> {
    const hit = this.peek(key);
    if (hit !== undefined) return hit;
    const value = await load();
    this.set(key, value);
    return value;
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}

/** Default TTL: a change on another node is seen within this long (the requirement is one second). */
export const DEFAULT_TTL_MS = 750;
