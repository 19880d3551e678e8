// Persistence of KMS keys and aliases through the barrier, with a short-lived in-memory cache.
//
//   kms/keys/<keyId>       KeyRecord (with every key material version, base64, barrier-encrypted)
//   kms/aliases/<name>     AliasRecord: the alias -> key index; the key record lists its aliases,
//                          and both sides are written in one transaction.
//
// Every update is compare-and-swap on the version read (retried a few times on conflict), so two
// nodes sharing a store never lose each other's changes. Reads on the hot path (Encrypt, Decrypt,
// GenerateDataKey) come from a cache whose entries live TTL_MS (750 ms): a change made on another node
// is seen here within a second, and a change made on this node invalidates the entry at once.
import { zeroize } from '../crypto/index.ts';
import { needs, KMSInternalException } from '../errors.ts';
import { CasConflict, type Op } from '../storage/backend.ts';
import type { Barrier } from '../storage/barrier.ts';
import { gatedBarrier, type BarrierView, type WriteGate } from '../storage/gate.ts';
import { compilePolicy, compileSpec, type CompiledPolicy } from '../iam/policy/compile.ts';
import type { AliasRecord, KeyRecord } from './model.ts';
import { uuidToBytes } from './ids.ts';
import { indexMoveOps, lifecycleIndexPaths } from './lifecycle/paths.ts';

export const KEY_PREFIX = 'kms/keys/';
export const ALIAS_PREFIX = 'kms/aliases/';
// Below the promised bound (a change on another node is seen within 1 s) with room for the read
// itself: a TTL of exactly 1000 ms measured 1004 ms under load. IAM's caches use the same 750 ms.
export const TTL_MS = 750;
/** A replaced cache entry is zeroed this long after replacement, so a request still using it finishes first. */
const RETIRE_MS = 10_000;
const CAS_ATTEMPTS = 5;

export const keyPath = (keyId: string): string => KEY_PREFIX + keyId;
export const aliasPath = (name: string): string => ALIAS_PREFIX + name;

/**
 * A stored key policy that no longer parses (written by an older, laxer validator) allows nothing:
 * authorization fails closed ("no resource-based policy allows ...") instead of failing open.
 */
const ALLOWS_NOTHING: CompiledPolicy = compileSpec({ version: '2012-10-17', id: undefined, statements: [] }, 'resource');

export interface MaterialVersion {
  readonly id: string;
  readonly idBytes: Buffer;
  readonly material: Buffer;
}

/**
 * A key record ready for cryptographic use: materials decoded once into Buffers, and the base64
 * strings dropped from `record`. Use the buffers synchronously right after obtaining the key.
 */
export class LoadedKey {
  readonly record: Readonly<KeyRecord>;
  readonly keyIdBytes: Buffer;
  private readonly byId = new Map<string, MaterialVersion>();
  private disposed = false;
  private compiled: CompiledPolicy | undefined;
  /**
   * The key's grants, loaded by the grants code on first need and kept with this version of the
   * record: every grant change rewrites the key record, so a new version means a fresh load.
   */
  grants: Promise<unknown> | undefined;

  constructor(rec: KeyRecord, readonly version: number) {
    for (const m of rec.materials) {
      this.byId.set(m.id, { id: m.id, idBytes: Buffer.from(m.id, 'hex'), material: Buffer.from(m.material, 'base64') });
      m.material = '';
    }
    this.record = rec;
    this.keyIdBytes = uuidToBytes(rec.keyId);
  }

  /** The key policy compiled once per cached record (authorization on the hot path is then closures only). */
  policy(): CompiledPolicy {
    if (this.compiled === undefined) {
      try {
        this.compiled = compilePolicy(this.record.policy, 'resource');
      } catch {
        this.compiled = ALLOWS_NOTHING;
      }
    }
    return this.compiled;
  }

  material(id: string): MaterialVersion | undefined {
    needs(!this.disposed, 'key material used after it was retired');
    return this.byId.get(id);
  }

  current(): MaterialVersion {
    const m = this.material(this.record.currentMaterialId);
    needs(m, `key ${this.record.keyId} has no current material`);
    return m;
  }

  dispose(): void {
    this.disposed = true;
    for (const m of this.byId.values()) zeroize(m.material);
  }
}

export interface Versioned<T> {
  value: T;
  version: number;
}

export type Write =
  | { type: 'key'; rec: KeyRecord; expectVersion: number }
  | { type: 'alias'; rec: AliasRecord; expectVersion: number }
  | { type: 'deleteAlias'; name: string; expectVersion: number }
  /** Any other record written in the same transaction (grants, their indexes); JSON through the barrier. */
  | { type: 'put'; path: string; value: unknown; expectVersion?: number }
  | { type: 'delete'; path: string; expectVersion?: number };

export interface KeyStoreOptions {
  ttlMs?: number;
  /** Monotonic milliseconds for cache ages (tests inject one). */
  monotonic?: () => number;
}

interface CachedKey {
  key: LoadedKey;
  fetchedAt: number;
}

/** The caches one KeyStore and its per-call views share. */
class KeyCache {
  readonly keys = new Map<string, CachedKey>();
  readonly inflight = new Map<string, Promise<LoadedKey | null>>();
  /** Bumped on every local invalidation so a load that started earlier does not re-insert old data. */
  readonly generation = new Map<string, number>();
  readonly aliases = new Map<string, { target: string; fetchedAt: number }>();
  readonly retired = new Map<LoadedKey, NodeJS.Timeout>();
  constructor(readonly barrier: Barrier, readonly ttl: number, readonly mono: () => number) {}
}

export class KeyStore {
  private readonly c: KeyCache;
  /** Reads and writes go through this: the barrier, or one mutating call's gated view of it. */
  private readonly barrier: BarrierView;

  constructor(barrier: Barrier, opts: KeyStoreOptions = {}, view?: { shared: KeyCache; gate: WriteGate }) {
    this.c = view?.shared ?? new KeyCache(barrier, opts.ttlMs ?? TTL_MS, opts.monotonic ?? (() => performance.now()));
    this.gate = view?.gate;
    this.barrier = view ? gatedBarrier(this.c.barrier, view.gate) : barrier;
  }

  /** The call's audit gate, in a per-call view. */
  private readonly gate: WriteGate | undefined;

  /**
   * The store as one mutating call sees it (src/storage/gate.ts): the same caches, every write through
   * the call's gated barrier view, so the first write waits for the call's audit event. Created once
   * per mutating call; read-only calls use the store itself.
   */
  forCall(gate: WriteGate): KeyStore {
    return new KeyStore(this.c.barrier, {}, { shared: this.c, gate });
  }

  // ---- cached reads (hot path)

  /** The key ready for use, from the cache when it is younger than the TTL. null when it does not exist. */
  getKey(keyId: string): Promise<LoadedKey | null> {
    const c = this.c.keys.get(keyId);
    if (c && this.c.mono() - c.fetchedAt < this.c.ttl) return Promise.resolve(c.key);
    let p = this.c.inflight.get(keyId);
    if (!p) {
      p = this.load(keyId).finally(() => {
        if (this.c.inflight.get(keyId) === p) this.c.inflight.delete(keyId);
      });
      this.c.inflight.set(keyId, p);
    }
    return p;
  }

  private async load(keyId: string): Promise<LoadedKey | null> {
    const gen = this.c.generation.get(keyId) ?? 0;
    const started = this.c.mono();
    const got = await this.barrier.getJSON<KeyRecord>(keyPath(keyId));
    const stale = (this.c.generation.get(keyId) ?? 0) !== gen;
    const cached = this.c.keys.get(keyId);
    if (!got) {
      if (!stale && cached) this.evict(keyId);
      return null;
    }
    needs(got.value.v === 1 && got.value.keyId === keyId, `unexpected key record at ${keyPath(keyId)}`);
    if (cached && cached.key.version === got.version) {
      if (!stale) cached.fetchedAt = started;
      return cached.key;
    }
    const key = new LoadedKey(got.value, got.version);
    if (stale) {
      this.retire(key);
      return key;
    }
    if (cached) this.retire(cached.key);
    this.c.keys.set(keyId, { key, fetchedAt: started });
    return key;
  }

  /** The key id an alias points to, cached like keys. null when the alias does not exist. */
  async aliasTarget(name: string): Promise<string | null> {
    const c = this.c.aliases.get(name);
    if (c && this.c.mono() - c.fetchedAt < this.c.ttl) return c.target;
    const gen = this.c.generation.get(aliasPath(name)) ?? 0;
    const started = this.c.mono();
    const got = await this.barrier.getJSON<AliasRecord>(aliasPath(name));
    if ((this.c.generation.get(aliasPath(name)) ?? 0) !== gen) return got ? got.value.targetKeyId : null;
    if (!got) {
      this.c.aliases.delete(name);
      return null;
    }
    this.c.aliases.set(name, { target: got.value.targetKeyId, fetchedAt: started });
    return got.value.targetKeyId;
  }

  // ---- uncached reads (for updates and listings)

  async readKey(keyId: string): Promise<Versioned<KeyRecord> | null> {
    return this.barrier.getJSON<KeyRecord>(keyPath(keyId));
  }

  async readAlias(name: string): Promise<Versioned<AliasRecord> | null> {
    return this.barrier.getJSON<AliasRecord>(aliasPath(name));
  }

  /** Key ids in ascending order, strictly after `after`. */
  async listKeyIds(after: string | undefined, limit: number): Promise<string[]> {
    const paths = await this.barrier.list(KEY_PREFIX, { ...(after !== undefined ? { after: keyPath(after) } : {}), limit });
    return paths.map((p) => p.slice(KEY_PREFIX.length));
  }

  /** Alias names in ascending order, strictly after `after`. */
  async listAliasNames(after: string | undefined, limit: number): Promise<string[]> {
    const paths = await this.barrier.list(ALIAS_PREFIX, { ...(after !== undefined ? { after: aliasPath(after) } : {}), limit });
    return paths.map((p) => p.slice(ALIAS_PREFIX.length));
  }

  // ---- writes

  async createKey(rec: KeyRecord): Promise<void> {
    // CreateKey's event names the key it creates, so its gate is passed with that much of the output.
    await this.gate?.pass({ KeyMetadata: { KeyId: rec.keyId, Arn: rec.arn, AWSAccountId: rec.accountId, KeyState: rec.state, KeyUsage: rec.keyUsage, KeySpec: rec.keySpec } });
    await this.putKeyWithIndex(rec, 0, []);
    this.invalidateKey(rec.keyId);
  }

  /**
   * Read-modify-write of one key with compare-and-swap, retried on conflict. `mutate` sees the
   * current stored record and may throw (state checks) or return false to write nothing.
   */
  async updateKey(keyId: string, mutate: (rec: KeyRecord) => boolean | void, missing: () => Error): Promise<KeyRecord> {
    return this.retry(async () => {
      const cur = await this.readKey(keyId);
      if (!cur) throw missing();
      const indexBefore = lifecycleIndexPaths(cur.value);
      if (mutate(cur.value) === false) return cur.value;
      await this.putKeyWithIndex(cur.value, cur.version, indexBefore);
      this.invalidateKey(keyId);
      return cur.value;
    });
  }

  /**
   * A key record and its due-index entries (kms/rotation-due/, kms/deletion-due/), moved in the same
   * transaction so the rotation and deletion schedules never disagree with the record.
   */
  private async putKeyWithIndex(rec: KeyRecord, expectVersion: number, indexBefore: readonly string[]): Promise<void> {
    const value = Buffer.from(JSON.stringify(rec));
    try {
      await this.barrier.transaction([{ type: 'put', key: keyPath(rec.keyId), value, expectVersion }, ...indexMoveOps(indexBefore, lifecycleIndexPaths(rec))]);
    } finally {
      zeroize(value);
    }
  }

  /**
   * Writes several records atomically (each with its own compare-and-swap). Key records written here
   * must not change what lifecycleIndexPaths depends on (state, rotation, deletionDate): use updateKey.
   */
  async commit(writes: Write[]): Promise<void> {
    const ops: Op[] = writes.map((w): Op => {
      if (w.type === 'key') return { type: 'put', key: keyPath(w.rec.keyId), value: Buffer.from(JSON.stringify(w.rec)), expectVersion: w.expectVersion };
      if (w.type === 'alias') return { type: 'put', key: aliasPath(w.rec.aliasName), value: Buffer.from(JSON.stringify(w.rec)), expectVersion: w.expectVersion };
      if (w.type === 'deleteAlias') return { type: 'delete', key: aliasPath(w.name), expectVersion: w.expectVersion };
      const cas = w.expectVersion !== undefined ? { expectVersion: w.expectVersion } : {};
      if (w.type === 'put') return { type: 'put', key: w.path, value: Buffer.from(JSON.stringify(w.value)), ...cas };
      return { type: 'delete', key: w.path, ...cas };
    });
    try {
      await this.barrier.transaction(ops);
    } finally {
      for (const op of ops) if (op.type === 'put') zeroize(op.value);
      for (const w of writes) {
        if (w.type === 'key') this.invalidateKey(w.rec.keyId);
        else if (w.type === 'alias') this.invalidateAlias(w.rec.aliasName);
        else if (w.type === 'deleteAlias') this.invalidateAlias(w.name);
      }
    }
  }

  /** Runs fn again when it hits a compare-and-swap conflict (someone else wrote in between). */
  async retry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof CasConflict)) throw e;
        if (attempt >= CAS_ATTEMPTS) {
          const err = new KMSInternalException('The request conflicted with concurrent changes to the same key. Retry the request.');
          err.cause = e;
          throw err;
        }
      }
    }
  }

  // ---- cache control

  invalidateKey(keyId: string): void {
    this.c.generation.set(keyId, (this.c.generation.get(keyId) ?? 0) + 1);
    this.c.inflight.delete(keyId);
    this.evict(keyId);
  }

  invalidateAlias(name: string): void {
    const p = aliasPath(name);
    this.c.generation.set(p, (this.c.generation.get(p) ?? 0) + 1);
    this.c.aliases.delete(name);
  }

  private evict(keyId: string): void {
    const c = this.c.keys.get(keyId);
    if (!c) return;
    this.c.keys.delete(keyId);
    this.retire(c.key);
  }

  private retire(key: LoadedKey): void {
    if (this.c.retired.has(key)) return;
    const t = setTimeout(() => {
      this.c.retired.delete(key);
      key.dispose();
    }, RETIRE_MS);
    t.unref();
    this.c.retired.set(key, t);
  }

  /** Zeroes every cached key material now (shutdown). */
  close(): void {
    for (const [key, t] of this.c.retired) {
      clearTimeout(t);
      key.dispose();
    }
    this.c.retired.clear();
    for (const c of this.c.keys.values()) c.key.dispose();
    this.c.keys.clear();
    this.c.aliases.clear();
  }
}
