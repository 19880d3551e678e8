// AuditLog: the one object the server talks to. It chains events, group-commits them to the sinks,
// closes signed digests, and answers lookups and verification.
//
// Contract of append(event) (see docs/AUDIT.md for how the server uses it):
//   resolves  once the event is chained and durably written to at least one durable sink
//             (store or file); forwarders (stdout, syslog) get it afterwards, best effort;
//   rejects   with InternalFailure when no durable sink accepted it. The chain does not advance,
//             so a refused request leaves no gap and no trace that it was performed.
//
// Group commit: append() only queues. All events queued while the previous batch was being
// written (or within the same event-loop turn when idle) are chained and written together: one storage
// transaction and one file write + fdatasync per batch, whatever the number of events.
import { ConfigurationError, InternalFailure, UnsupportedOperationException } from '../errors.ts';
import type { Barrier } from '../storage/barrier.ts';
import { type AuditRecord, type ChainHead, EMPTY_HEAD, GENESIS_HASH, NODE_NAME, chainOne } from './chain.ts';
import { type AuditDigest, type AuditPublicKey, DigestSigner, lastDigest, saveDigest } from './digest.ts';
import { type AuditEvent, serviceEvent } from './event.ts';
import { type GapFill, type SinkHead, fillGaps } from './gap-fill.ts';
import { type LookupQuery, type LookupResult, lookupEvents } from './lookup.ts';
import { type PruneResult, pruneStore } from './retention.ts';
import { StoreSink } from './sinks/store.ts';
import type { AuditSink, SinkBatch } from './sinks/types.ts';
import { type VerifyOptions, verifyStore } from './verify-store.ts';
import type { VerifyResult } from './verify.ts';
import { recordVerification } from './verifications.ts';

export interface AuditLogOptions {
  /** This node's chain name: [A-Za-z0-9._-], unique among the nodes sharing a store. */
  node: string;
  /** Holds the signing key and the digests (and the events, when a StoreSink is configured). */
  barrier: Barrier;
  /** At least one durable sink (StoreSink or FileSink); forwarders (stdout, syslog) optional. */
  sinks: readonly AuditSink[];
  /** Digest period (default 1 hour). 0: digests only on closePeriod() and close(). */
  digestPeriodMs?: number;
  clock?: () => Date;
  /** Most events per batch (default 500). */
  maxBatch?: number;
  /** Told when a sink fails (sink name and error; never event content). */
  onSinkError?: (sink: string, err: unknown) => void;
  /** Region and account of the service events the log records about itself (a gap filled). */
  region?: string;
  accountId?: string;
}

interface Pending {
  event: AuditEvent;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface DigestPosition {
  toSeq: number;
  lastHash: string;
  signature: string | null;
  periodEnd: string;
}

export interface AuditStats {
  events: number;
  /** Batches written (each: one write per durable sink). */
  batches: number;
  refused: number;
  digests: number;
  sinkFailures: Record<string, number>;
  /** Gaps filled at open (a sink that missed the last batches before a crash). */
  gapsFilled: GapFill[];
}

export class AuditLog {
  private head: ChainHead = EMPTY_HEAD;
  private lastDigestPos: DigestPosition;
  private pending: Pending[] = [];
  private scheduled = false;
  private lane: Promise<unknown> = Promise.resolve();
  private needResync = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly durable: AuditSink[];
  private readonly forwarders: AuditSink[];
  private readonly clock: () => Date;
  readonly stats: AuditStats = { events: 0, batches: 0, refused: 0, digests: 0, sinkFailures: {}, gapsFilled: [] };
  private readonly observers = new Set<(records: readonly AuditRecord[]) => void>();

  private constructor(private readonly opts: AuditLogOptions, private readonly signer: DigestSigner) {
    this.durable = opts.sinks.filter((s) => s.durable);
    this.forwarders = opts.sinks.filter((s) => !s.durable);
    this.clock = opts.clock ?? (() => new Date());
    this.lastDigestPos = { toSeq: 0, lastHash: GENESIS_HASH, signature: null, periodEnd: this.clock().toISOString() };
  }

  static async open(opts: AuditLogOptions): Promise<AuditLog> {
    if (!NODE_NAME.test(opts.node)) throw new ConfigurationError('audit: node name must be 1-64 characters of A-Z a-z 0-9 . _ -');
    if (!opts.sinks.some((s) => s.durable)) throw new ConfigurationError('audit: configure at least one durable sink (store or file); stdout and syslog only forward');
    const period = opts.digestPeriodMs ?? 3_600_000;
    if (!(Number.isSafeInteger(period) && (period === 0 || period >= 1000))) throw new ConfigurationError('audit: digestPeriodMs must be 0 or at least 1000');
    const log = new AuditLog(opts, await DigestSigner.loadOrCreate(opts.barrier));
    const d = await lastDigest(opts.barrier, opts.node);
    if (d) log.lastDigestPos = { toSeq: d.toSeq, lastHash: d.lastHash, signature: d.signature, periodEnd: d.periodEnd };
    const found = await log.recoverHeads();
    log.head = found.best;
    await log.fillGaps(found.sinks);
    if (period > 0) {
      log.timer = setInterval(() => void log.closePeriod().catch((e: unknown) => log.report('digest', e)), period);
      log.timer.unref();
    }
    return log;
  }

  get node(): string {
    return this.opts.node;
  }

  get publicKey(): AuditPublicKey {
    return this.signer.publicKey;
  }

  /** The chain position of the last durably written event. */
  get chainHead(): ChainHead {
    return { ...this.head };
  }

  get store(): StoreSink | undefined {
    return this.opts.sinks.find((s): s is StoreSink => s instanceof StoreSink);
  }

  /**
   * Records one event; see the contract at the top of this file. The event must not be mutated
   * after this call (it is hashed and serialized later, in its batch).
   */
  append(event: AuditEvent): Promise<void> {
    if (this.closed) return Promise.reject(new InternalFailure('The audit trail is closed; the request was not performed.'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ event, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      // setImmediate: the batch is written after this turn of the event loop's poll phase, so every
      // request whose bytes were read in that turn joins it (an idle log waits one loop turn, a few
      // microseconds). Under load the lane is busy writing the previous batch, and everything
      // appended meanwhile forms the next one. Not a microtask: the store sink's SQLite commit is
      // synchronous, so with the store as the only durable sink the lane is never seen busy, and a
      // microtask flushed each request alone, one fsync per request (bench/kms "audit sinks": 1.0
      // events per batch, 340 req/s at 64 connections).
      setImmediate(() => {
        this.scheduled = false;
        void this.enqueue(() => this.flush());
      });
    });
  }

  /**
   * Resolves once every event appended before this call (and any appended by then from a request
   * still finishing, one macrotask later) is written or refused: what a test awaits instead of
   * sleeping for the group commit.
   */
  async settled(): Promise<void> {
    do {
      await new Promise<void>((r) => setImmediate(r)); // appends from responses already sent
      await this.enqueue(() => this.flush());
    } while (this.pending.length > 0 || this.scheduled);
  }

  /** Runs fn after everything already queued on the write lane (batches and digests never overlap). */
  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lane.then(fn);
    this.lane = p.catch(() => undefined);
    return p;
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) await this.writeBatch(this.pending.splice(0, this.opts.maxBatch ?? 500));
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    if (this.needResync) {
      try {
        const found = await this.recoverHead();
        if (found.seq > this.head.seq) this.head = found; // a "failed" write that did land
        this.needResync = false;
      } catch (e) {
        this.report('recover', e);
        return this.refuse(batch);
      }
    }
    const records: AuditRecord[] = [];
    const lines: string[] = [];
    const accepted: Pending[] = [];
    let head = this.head;
    for (const p of batch) {
      try {
        const c = chainOne(this.opts.node, head, p.event);
        records.push(c.record);
        lines.push(c.line);
        accepted.push(p);
        head = { seq: c.record.seq, hash: c.record.hash };
      } catch {
        p.reject(new InternalFailure('The request could not be audited; it was not performed.'));
      }
    }
    if (records.length === 0) return;
    const d = this.lastDigestPos;
    const sinkBatch: SinkBatch = { node: this.opts.node, records, lines, ...(d.signature !== null ? { lastDigest: { toSeq: d.toSeq, signature: d.signature } } : {}) };
    const results = await Promise.allSettled(this.durable.map((s) => s.write(sinkBatch)));
    this.stats.batches++;
    let ok = false;
    const relaxedOk: AuditSink[] = [];
    results.forEach((r, i) => {
      const s = this.durable[i]!;
      if (r.status === 'rejected') this.report(s.name, r.reason);
      else if (s.relaxed && s.sync) relaxedOk.push(s);
      else ok = true;
    });
    // Only relaxed copies landed (the file sink failed): flush them before the batch counts as durable.
    for (const s of ok ? [] : relaxedOk) {
      try {
        await s.sync!();
        ok = true;
      } catch (e) {
        this.report(s.name, e);
      }
    }
    if (!ok) {
      this.needResync = true;
      return this.refuse(accepted);
    }
    this.head = head;
    this.stats.events += records.length;
    for (const s of this.forwarders) s.write(sinkBatch).catch((e: unknown) => this.report(s.name, e));
    for (const o of this.observers) {
      try {
        o(records);
      } catch (e) {
        this.report('observer', e);
      }
    }
    for (const p of accepted) p.resolve();
  }

  private refuse(batch: Pending[]): void {
    this.stats.refused += batch.length;
    const err = new InternalFailure('The request could not be audited; it was not performed.');
    for (const p of batch) p.reject(err);
  }

  /** The furthest chain position any durable sink, or the last digest, knows of. */
  private async recoverHead(): Promise<ChainHead> {
    return (await this.recoverHeads()).best;
  }

  /** recoverHead, with where each durable sink's copy ends (undefined: it could not say). */
  private async recoverHeads(): Promise<{ best: ChainHead; sinks: SinkHead[] }> {
    let best: ChainHead = this.lastDigestPos.toSeq > 0 ? { seq: this.lastDigestPos.toSeq, hash: this.lastDigestPos.lastHash } : EMPTY_HEAD;
    let answered = 0;
    const sinks: SinkHead[] = [];
    for (const s of this.durable) {
      if (!s.recover) continue;
      try {
        const h = await s.recover(this.opts.node);
        answered++;
        sinks.push({ sink: s, head: h });
        if (h && h.seq > best.seq) best = h;
      } catch (e) {
        sinks.push({ sink: s, head: undefined });
        this.report(s.name, e);
      }
    }
    if (answered === 0 && this.durable.some((s) => s.recover)) throw new InternalFailure('audit: no durable sink could report the chain head');
    return { best, sinks };
  }

  /** At open: copies what a crash kept from a lagging sink (src/audit/gap-fill.ts) and records each fill. */
  private async fillGaps(sinks: SinkHead[]): Promise<void> {
    const fills = await fillGaps(this.opts.node, sinks, this.head, (sink, err) => this.report(sink, err));
    for (const f of fills) {
      this.stats.gapsFilled.push(f);
      await this.append(serviceEvent({
        eventName: 'AuditSinkGapFilled', service: 'audit', region: this.opts.region ?? 'us-east-1', accountId: this.opts.accountId ?? '000000000000',
        resources: [], now: this.clock(),
        details: { node: this.opts.node, sink: f.sink, source: f.source, fromSeq: f.fromSeq, toSeq: f.toSeq },
      }));
    }
  }

  /** Signs a digest over the events since the last one (none if there were none). Serialized with writes. */
  closePeriod(): Promise<AuditDigest | null> {
    return this.enqueue(async () => {
      await this.flush();
      const last = this.lastDigestPos;
      if (this.head.seq <= last.toSeq) return null;
      const d = this.signer.sign({
        node: this.opts.node,
        fromSeq: last.toSeq + 1,
        toSeq: this.head.seq,
        count: this.head.seq - last.toSeq,
        fromPrevHash: last.lastHash,
        lastHash: this.head.hash,
        periodStart: last.periodEnd,
        periodEnd: this.clock().toISOString(),
        previousDigestSignature: last.signature,
      });
      await saveDigest(this.opts.barrier, d);
      this.lastDigestPos = { toSeq: d.toSeq, lastHash: d.lastHash, signature: d.signature, periodEnd: d.periodEnd };
      this.stats.digests++;
      // Copies for files and SIEMs, so they can be verified without the store. Best effort: the
      // digest itself is already durable in the store.
      const results = await Promise.allSettled(this.opts.sinks.map((s) => s.write({ node: this.opts.node, records: [], lines: [], digest: d })));
      results.forEach((r, i) => r.status === 'rejected' && this.report(this.opts.sinks[i]!.name, r.reason));
      return d;
    });
  }

  lookup(q: LookupQuery): Promise<LookupResult> {
    return lookupEvents(this.requireStore(), q);
  }

  /** A whole-store run (no from, to or node) is recorded for the compliance rule audit-not-verified (verifications.ts). */
  async verify(q: Omit<VerifyOptions, 'store' | 'publicKey'> & { publicKey?: AuditPublicKey } = {}): Promise<VerifyResult> {
    const store = this.requireStore();
    const r = await verifyStore({ ...q, store, publicKey: q.publicKey ?? this.publicKey });
    if (!q.from && !q.to && !q.node) {
      await recordVerification(store.barrier, {
        at: this.clock().toISOString(), ok: r.ok, problems: r.problems.length, nodes: r.nodes.length,
        events: r.nodes.reduce((n, x) => n + x.events, 0), pinnedKey: q.publicKey !== undefined,
      });
    }
    return r;
  }

  /** Deletes stored events older than `olderThanDays`, cutting only at a digest so the rest stays verifiable. */
  prune(olderThanDays: number): Promise<PruneResult> {
    return pruneStore(this.requireStore(), { olderThanDays, now: this.clock() });
  }

  private requireStore(): StoreSink {
    const s = this.store;
    if (!s) throw new UnsupportedOperationException('The audit store sink is not configured on this node.');
    return s;
  }

  /**
   * Calls `observer` with every batch of records once it is durably written (after the forwarders
   * got it; alarms on audit events read them here, src/alarms). Synchronous and must not throw; it
   * must not mutate the records. Returns the unsubscribe function.
   */
  observe(observer: (records: readonly AuditRecord[]) => void): () => void {
    this.observers.add(observer);
    return () => void this.observers.delete(observer);
  }

  /** Events appended and not yet written to a durable sink (the group commit's queue). */
  get queued(): number {
    return this.pending.length;
  }

  private report(sink: string, err: unknown): void {
    this.stats.sinkFailures[sink] = (this.stats.sinkFailures[sink] ?? 0) + 1;
    this.opts.onSinkError?.(sink, err);
  }

  /** Flushes queued events, closes the period with a digest, closes the sinks. Later appends reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      await this.closePeriod();
    } catch (e) {
      this.report('digest', e);
    }
    await Promise.allSettled(this.opts.sinks.map((s) => s.close()));
  }
}
