// Usage budgets: "rotate after N encryptions or N bytes encrypted" (beyond AWS), counted across nodes.
//
//   kms/usage/<keyId>/<materialId>   { encryptions, bytes } of one material version, on all nodes together
//
// Encrypt must stay fast, so a node does not write storage per request: it adds to a local tally
// and flushes it every FLUSH_MS (250 ms) or every FLUSH_EVERY (1,000) encryptions, whichever comes
// first, with a compare-and-swap add on the shared counter (retried on conflict: another node
// flushed at the same moment). A key without a budget costs one property check per request.
//
// When a flush finds a counter at or over its budget, a kms.rotate job (trigger 'budget', dedupe key
// kms.budget/<keyId>/<materialId>) gives the key a new AUTOMATIC material version. Counters are per
// material version, so the new version starts at zero; NextRotationDate does not move (like an
// on-demand rotation, and unlike on-demand rotation it does not use up the on-demand quota).
//
// Overshoot: the budget triggers a rotation; it does not block requests. Encryptions under the old
// version continue until the rotation is committed and every node's key cache has the new record:
// per node at most one unflushed tally (< 250 ms or < 1,000 requests), plus the job's pickup (worker
// poll, up to 1 s; immediate on the node that enqueued it), plus the key cache TTL (1 s). At a
// steady rate r per node over n nodes: overshoot <= n x r x ~2.25 s, or n x 1,000 + n x r x 2 s.
import { CasConflict } from '../../storage/backend.ts';
import type { Barrier } from '../../storage/barrier.ts';
import type { KeyRecord, UsageBudget } from '../model.ts';
import { usagePath } from './paths.ts';

export const FLUSH_MS = 250;
export const FLUSH_EVERY = 1000;
const CAS_RETRIES = 50;
/** Material versions remembered as "rotation already requested" on this node. */
const TRIGGERED_MAX = 10_000;
/** Material versions whose local totals are kept for the metrics (past this, new ones are not counted there). */
export const USED_MAX = 10_000;

/** One material version's encryptions on this node since it started (all keys, with or without a budget). */
export interface LocalUse extends UsageCounter {
  keyId: string;
  materialId: string;
}

export interface UsageCounter {
  encryptions: number;
  bytes: number;
}

export interface UsageOptions {
  flushMs?: number;
  flushEvery?: number;
  /** A material version's counter reached its budget: request the rotation (idempotent). */
  onExhausted: (keyId: string, materialId: string, total: UsageCounter) => Promise<void>;
  onError?: (e: unknown, where: string) => void;
}

interface Tally {
  keyId: string;
  materialId: string;
  budget: UsageBudget;
  encryptions: number;
  bytes: number;
}

export function isExhausted(c: UsageCounter, b: UsageBudget): boolean {
  return (b.maxEncryptions !== undefined && c.encryptions >= b.maxEncryptions) || (b.maxBytes !== undefined && c.bytes >= b.maxBytes);
}

export class UsageMeter {
  private tallies = new Map<string, Tally>();
  private ops = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly triggered = new Set<string>();
  private readonly used = new Map<string, LocalUse>();
  private readonly flushMs: number;
  private readonly flushEvery: number;

  constructor(private readonly barrier: Barrier, private readonly opts: UsageOptions) {
    this.flushMs = opts.flushMs ?? FLUSH_MS;
    this.flushEvery = opts.flushEvery ?? FLUSH_EVERY;
    if (!(this.flushMs > 0 && Number.isSafeInteger(this.flushEvery) && this.flushEvery >= 1)) throw new RangeError('usage flushMs must be positive and flushEvery a positive integer');
  }

  /** Counts one encryption under the key's current material. Synchronous and storage-free. */
  record(rec: Pick<KeyRecord, 'keyId' | 'currentMaterialId' | 'usageBudget'>, bytes: number): void {
    const k = `${rec.keyId}/${rec.currentMaterialId}`;
    // this node's totals since start, for every key (the metrics read them: src/metrics/collectors.ts)
    let u = this.used.get(k);
    if (!u && this.used.size < USED_MAX) this.used.set(k, (u = { keyId: rec.keyId, materialId: rec.currentMaterialId, encryptions: 0, bytes: 0 }));
    if (u) {
      u.encryptions++;
      u.bytes += bytes;
    }
    const budget = rec.usageBudget;
    if (!budget) return;
    let t = this.tallies.get(k);
    if (!t) {
      t = { keyId: rec.keyId, materialId: rec.currentMaterialId, budget, encryptions: 0, bytes: 0 };
      this.tallies.set(k, t);
    }
    t.budget = budget;
    t.encryptions++;
    t.bytes += bytes;
    if (++this.ops >= this.flushEvery) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes every local tally to the shared counters (and requests rotations that are due). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.tallies.size === 0) return;
    const batch = [...this.tallies.values()];
    this.tallies = new Map();
    this.ops = 0;
    this.flushing = (async () => {
      for (const t of batch) {
        let total: UsageCounter;
        try {
          total = await this.add(t);
        } catch (e) {
          this.merge(t); // not lost: the next flush tries again
          this.opts.onError?.(e, `usage counter ${t.keyId}/${t.materialId}`);
          continue;
        }
        try {
          await this.check(t.keyId, t.materialId, total, t.budget);
        } catch (e) {
          // Counted already; the request is made again by the next flush of this version's usage.
          this.opts.onError?.(e, `budget rotation ${t.keyId}/${t.materialId}`);
        }
      }
    })().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  /** This node's encryptions per material version since it started (what /metrics exposes). */
  localUse(): Iterable<Readonly<LocalUse>> {
    return this.used.values();
  }

  /** The shared counter of one material version (what all nodes have flushed). */
  async read(keyId: string, materialId: string): Promise<UsageCounter> {
    const got = await this.barrier.getJSON<UsageCounter>(usagePath(keyId, materialId));
    return got ? got.value : { encryptions: 0, bytes: 0 };
  }

  /** Stops the timer after a last flush. */
  async close(): Promise<void> {
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private merge(t: Tally): void {
    const k = `${t.keyId}/${t.materialId}`;
    const cur = this.tallies.get(k);
    if (cur) {
      cur.encryptions += t.encryptions;
      cur.bytes += t.bytes;
    } else this.tallies.set(k, { ...t });
  }

  /** The CAS add of one tally; returns the counter's new total. */
  private async add(t: Tally): Promise<UsageCounter> {
    const path = usagePath(t.keyId, t.materialId);
    let total: UsageCounter | undefined;
    for (let i = 0; total === undefined; i++) {
      const cur = await this.barrier.getJSON<UsageCounter>(path);
      const next = { encryptions: (cur?.value.encryptions ?? 0) + t.encryptions, bytes: (cur?.value.bytes ?? 0) + t.bytes };
      try {
        await this.barrier.putJSON(path, next, { expectVersion: cur ? cur.version : 0 });
        total = next;
      } catch (e) {
        if (!(e instanceof CasConflict) || i >= CAS_RETRIES) throw e;
      }
    }
    return total;
  }

  /** Requests the rotation once per material version on this node (the dedupe key covers the others). */
  async check(keyId: string, materialId: string, total: UsageCounter, budget: UsageBudget): Promise<void> {
    const k = `${keyId}/${materialId}`;
    if (!isExhausted(total, budget) || this.triggered.has(k)) return;
    await this.opts.onExhausted(keyId, materialId, total);
    if (this.triggered.size >= TRIGGERED_MAX) this.triggered.clear();
    this.triggered.add(k);
  }
}
