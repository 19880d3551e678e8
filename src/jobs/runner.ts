// The worker: finds due jobs, takes them by lease, runs their steps one at a time, records results.
//
// Lifecycle of one job on one worker:
//   claim      CAS on the record: queued (runAt <= now) or running-with-expired-lease -> running,
//              lease {owner: nodeId, expiresAt: now + leaseMs}, attempt + 1. One claimer wins.
//   step       the kind's handler runs while a timer heartbeats the lease (CAS again).
//   record     CAS: the step's result, its `ops` and the index moves in one transaction. A worker
//              whose lease was taken over or whose job was cancelled gets CasConflict here and
//              writes nothing: the step's storage effects are discarded with its result.
//   next step  run at once under the same lease; or queued for later (retryAt, backoff); or
//              finished (succeeded / failed).
import { CasConflict } from '../storage/backend.ts';
import { type Clock, SystemClock, SECOND } from './clock.ts';
import { PollLoop, Serial } from './loop.ts';
import {
  type BackoffPolicy, type KindOptions, type RegisteredKind, type StepContext, type StepHandler,
  DEFAULT_BACKOFF, DEFAULT_STEP_TIMEOUT_MS, LeaseLost, StepTimeout, defaultRandom,
} from './kinds.ts';
import { type Job, type JobError, type Progress, JobState, checkKind, dueAt, duePath, jobPath } from './model.ts';
import type { DueRef, JobStore, Stored } from './store.ts';
import { type Outcome, claimTransition, heartbeatTransition, releaseTransition, resultTransition } from './transitions.ts';

export interface WorkerOptions {
  /** Unique per process: it names the lease owner. */
  nodeId: string;
  store: JobStore;
  clock?: Clock;
  /** How long a lease lasts without a heartbeat. Default 30 s. */
  leaseMs?: number;
  /** Real-time interval between heartbeats while a step runs. Default leaseMs / 3. */
  heartbeatMs?: number;
  /** Real-time interval between due scans in start(). Default 1 s. */
  pollMs?: number;
  /** Jobs run at once by this worker. Default 4. */
  concurrency?: number;
  /** Most index entries read per page (pages are usually shorter: two per free lane). Default 100. */
  scanPageSize?: number;
  /** Steps one claim may run before the job is handed back to the queue (fairness). Default 100. */
  maxStepsPerClaim?: number;
  /** Uniform in [0,1): backoff jitter and scan shuffling. */
  random?: () => number;
  /** Called after each committed change (never for a write that lost its CAS). */
  onEvent?: (e: JobEvent) => void;
  /** Unexpected failures (storage down, a commit of unknown outcome). */
  onError?: (e: unknown, context: string) => void;
}

export type JobEventType = 'claimed' | 'takeover' | 'step' | 'waiting' | 'retrying' | 'succeeded' | 'failed' | 'lost' | 'released';

export interface JobEvent {
  type: JobEventType;
  nodeId: string;
  job: Job;
  /** The step the event is about (for 'step': the one that just finished). */
  step: string;
  error?: JobError;
  reason?: string;
}

export interface RunSummary {
  /** Due entries looked at. */
  scanned: number;
  claimed: number;
  /** Claims lost to another node. */
  contended: number;
  steps: number;
  succeeded: number;
  failed: number;
  /** Steps that failed and were scheduled again. */
  retried: number;
  /** Jobs given up mid-run: lease taken over, cancelled, or a commit of unknown outcome. */
  lost: number;
}

interface Held {
  s: Stored;
  lost: string | null;
  progress: Progress | undefined;
  ac: AbortController;
}

function emptySummary(): RunSummary {
  return { scanned: 0, claimed: 0, contended: 0, steps: 0, succeeded: 0, failed: 0, retried: 0, lost: 0 };
}

export class Worker {
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  private readonly store: JobStore;
  private readonly clock: Clock;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly pageSize: number;
  private readonly maxSteps: number;
  private readonly random: () => number;
  private readonly kinds = new Map<string, RegisteredKind>();
  private readonly active = new Map<string, Promise<void>>();
  private readonly opts: WorkerOptions;
  private stopping = false;
  private readonly loop: PollLoop;

  constructor(opts: WorkerOptions) {
    if (!/^[\x21-\x7e]{1,128}$/.test(opts.nodeId)) throw new RangeError('nodeId must be 1 to 128 printable characters');
    this.opts = opts;
    this.nodeId = opts.nodeId;
    this.store = opts.store;
    this.clock = opts.clock ?? new SystemClock();
    this.leaseMs = opts.leaseMs ?? 30 * SECOND;
    this.heartbeatMs = opts.heartbeatMs ?? Math.floor(this.leaseMs / 3);
    // A heartbeat must land well before the lease it renews runs out, or a live worker loses its job.
    if (!(this.heartbeatMs > 0 && this.heartbeatMs < this.leaseMs)) throw new RangeError('heartbeatMs must be positive and shorter than leaseMs');
    this.pollMs = opts.pollMs ?? SECOND;
    this.concurrency = opts.concurrency ?? 4;
    this.pageSize = opts.scanPageSize ?? 100;
    this.maxSteps = opts.maxStepsPerClaim ?? 100;
    for (const [name, v] of [['leaseMs', this.leaseMs], ['pollMs', this.pollMs], ['concurrency', this.concurrency], ['scanPageSize', this.pageSize], ['maxStepsPerClaim', this.maxSteps]] as const) {
      if (!(Number.isSafeInteger(v) && v >= 1)) throw new RangeError(`${name} must be a positive integer`);
    }
    this.random = opts.random ?? defaultRandom;
    this.loop = new PollLoop(() => this.fill(this.clock.now(), emptySummary()), this.pollMs, this.random, (e) => this.opts.onError?.(e, 'due scan'));
  }

  registerKind<D>(kind: string, handler: StepHandler<D>, opts: KindOptions = {}): void {
    checkKind(kind);
    if (this.kinds.has(kind)) throw new RangeError(`job kind ${kind} is already registered`);
    const backoff: BackoffPolicy = { ...DEFAULT_BACKOFF, ...opts.backoff };
    if (!(backoff.baseMs >= 0 && backoff.factor >= 1 && backoff.maxMs >= backoff.baseMs && backoff.jitter >= 0 && backoff.jitter <= 1)) {
      throw new RangeError(`job kind ${kind}: backoff needs baseMs >= 0, factor >= 1, maxMs >= baseMs and jitter in [0, 1]`);
    }
    if (opts.stepTimeoutMs !== undefined && !(Number.isSafeInteger(opts.stepTimeoutMs) && opts.stepTimeoutMs >= 1)) throw new RangeError(`job kind ${kind}: stepTimeoutMs must be a positive integer`);
    this.kinds.set(kind, { kind, handler: handler as StepHandler<never>, backoff, stepTimeoutMs: opts.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS });
  }

  hasKind(kind: string): boolean {
    return this.kinds.has(kind);
  }

  /**
   * Runs everything due at `now` (default: the clock) to completion, waiting, or hand-back, and
   * returns what happened. Deterministic with a ManualClock; each job is claimed at most once per
   * call, so a step that asks to run again "now" cannot loop forever here.
   */
  async runDueOnce(now: Date = this.clock.now()): Promise<RunSummary> {
    const sum = emptySummary();
    const seen = new Set<string>();
    for (;;) {
      await this.fill(now, sum, seen);
      if (this.active.size === 0) break;
      await Promise.race(this.active.values()); // a lane is free again: look for more work
    }
    return sum;
  }

  /** Fills free lanes every pollMs (and whenever a lane frees up) until stop(). */
  start(): void {
    this.stopping = false;
    this.loop.start();
  }

  /** Scan now instead of at the next poll (after a local enqueue). */
  wake(): void {
    this.loop.wake();
  }

  /**
   * Stops polling and waits for the steps in progress to finish and be recorded; their jobs are then
   * handed back (queued, due now) so another node continues without waiting for a lease to expire.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop.stop();
    await Promise.allSettled([...this.active.values()]);
  }

  private shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /**
   * Claims due jobs until every lane is busy or nothing claimable is due; the claimed jobs' steps
   * run in the background. Each fill reads the lease index (expired leases: orphans) and then the
   * due index from their starts, so a free lane picks up an orphan at once: a long job in one lane
   * never delays takeovers or new work in the others. It reads about two entries per free lane.
   */
  private async fill(now: Date, sum: RunSummary, seen?: Set<string>): Promise<void> {
    // Expired leases first: an orphan is a job already half done.
    for (const index of ['lease', 'due'] as const) {
      let after: string | undefined;
      while (this.active.size < this.concurrency && !this.stopping) {
        const want = this.concurrency - this.active.size;
        const { refs, more } = await this.store.scanDue(now.getTime(), { index, ...(after !== undefined ? { after } : {}), limit: Math.min(this.pageSize, 2 * want) });
        // Nodes reading the same index start with different jobs, so they contend less for the same ones.
        for (const ref of this.shuffle(refs)) {
          if (this.active.size >= this.concurrency || this.stopping) return;
          if (this.active.has(ref.id) || seen?.has(ref.id)) continue;
          seen?.add(ref.id);
          sum.scanned++;
          await this.claimAndStart(ref, sum).catch((e: unknown) => this.opts.onError?.(e, `claim ${ref.id}`));
        }
        if (!more || refs.length === 0) break;
        after = refs.reduce((m, r) => (r.key > m ? r.key : m), refs[0]!.key);
      }
    }
  }

  private nowMs(): number {
    return this.clock.now().getTime();
  }

  private emit(type: JobEventType, job: Job, step: string, extra: { error?: JobError; reason?: string } = {}): void {
    try {
      this.opts.onEvent?.({ type, nodeId: this.nodeId, job, step, ...extra });
    } catch (e) {
      this.opts.onError?.(e, 'event listener');
    }
  }

  /** Claims one due job by CAS; on success its steps start in the background, tracked in `active`. */
  private async claimAndStart(ref: DueRef, sum: RunSummary): Promise<void> {
    const cur = await this.store.get(ref.id);
    // The index entry is stale if the record moved on since we listed it (another node claimed it).
    if (!cur || duePath(cur.job) !== ref.key) return;
    const job = cur.job;
    const now = this.nowMs();
    const at = dueAt(job);
    if (at === null || at > now) return;
    const kind = this.kinds.get(job.kind);
    if (!kind) return; // a node without this kind leaves it to one that has it
    const takeover = job.state === JobState.running;
    const next = claimTransition(job, { nodeId: this.nodeId, now, leaseMs: this.leaseMs });
    let held: Stored;
    try {
      held = await this.store.write(cur, next);
    } catch (e) {
      if (e instanceof CasConflict) {
        sum.contended++;
        return;
      }
      throw e;
    }
    if (next.state === JobState.failed) {
      sum.failed++;
      this.emit('failed', next, next.step, { ...(next.lastError ? { error: next.lastError } : {}) });
      return;
    }
    sum.claimed++;
    this.emit(takeover ? 'takeover' : 'claimed', next, next.step);
    const run = this.runClaimed({ s: held, lost: null, progress: undefined, ac: new AbortController() }, kind, sum)
      .catch((e: unknown) => this.opts.onError?.(e, `job ${job.id}`))
      .finally(() => {
        this.active.delete(job.id);
        this.loop.wake(); // a lane is free
      });
    this.active.set(job.id, run);
  }

  private async runClaimed(h: Held, kind: RegisteredKind, sum: RunSummary): Promise<void> {
    const lock = new Serial();
    const id = h.s.job.id;
    const beat = () => lock.run(() => this.heartbeat(h));
    const timer = setInterval(() => void beat().catch(() => {}), this.heartbeatMs);
    timer.unref();
    try {
      for (let steps = 0; h.lost === null; steps++) {
        const job = h.s.job;
        if (job.state !== JobState.running || job.lease?.owner !== this.nodeId) break;
        if (this.stopping || steps >= this.maxSteps) {
          await lock.run(() => this.release(h));
          break;
        }
        h.ac = new AbortController();
        const ctx: StepContext = {
          nodeId: this.nodeId, attempt: job.attempt, signal: h.ac.signal, barrier: this.store.barrier,
          now: () => this.clock.now(),
          progress: (p) => { h.progress = { ...p }; },
          heartbeat: async () => {
            await beat();
            if (h.lost !== null) throw new LeaseLost(id, h.lost);
          },
        };
        const outcome = await this.runStep(kind, job, ctx, h.ac);
        if (h.lost !== null) break; // found out by a heartbeat: someone else owns the job now
        await lock.run(() => this.record(h, kind, outcome, sum));
      }
    } finally {
      clearInterval(timer);
      if (h.lost !== null) {
        sum.lost++;
        this.emit('lost', h.s.job, h.s.job.step, { reason: h.lost });
      }
    }
  }

  private async runStep(kind: RegisteredKind, job: Job, ctx: StepContext, ac: AbortController): Promise<Outcome> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => {
        const error = new StepTimeout(job.step, kind.stepTimeoutMs);
        ac.abort(error);
        resolve({ ok: false, error });
      }, kind.stepTimeoutMs);
      // Not unref'd: a running step is work in progress, and its timeout must fire even in a
      // process with nothing else to do.
    });
    const run = (async (): Promise<Outcome> => {
      try {
        // A copy: whatever the handler does to its argument cannot leak into the record.
        return { ok: true, result: await kind.handler(structuredClone(job) as never, ctx) };
      } catch (error) {
        return { ok: false, error };
      }
    })();
    try {
      return await Promise.race([run, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async heartbeat(h: Held): Promise<void> {
    const cur = h.s;
    if (h.lost !== null || cur.job.state !== JobState.running || cur.job.lease?.owner !== this.nodeId) return;
    const next = heartbeatTransition(cur.job, { nodeId: this.nodeId, now: this.nowMs(), leaseMs: this.leaseMs, ...(h.progress ? { progress: h.progress } : {}) });
    try {
      h.s = await this.store.write(cur, next);
      h.progress = undefined;
    } catch (e) {
      if (e instanceof CasConflict) await this.markLost(h);
      else this.opts.onError?.(e, `heartbeat ${cur.job.id}`); // the lease may still be valid; try again next beat
    }
  }

  private async markLost(h: Held): Promise<void> {
    const now = await this.store.get(h.s.job.id).catch(() => null);
    h.lost = !now ? 'job no longer readable'
      : now.job.state === JobState.cancelled ? 'job cancelled'
        : now.job.lease && now.job.lease.owner !== this.nodeId ? `lease taken over by ${now.job.lease.owner}`
          : `job changed to ${now.job.state}`;
    h.ac.abort(new LeaseLost(h.s.job.id, h.lost));
  }

  /** Hands a held job back to the queue, due now, without counting the step it did not start. */
  private async release(h: Held): Promise<void> {
    const cur = h.s;
    const next = releaseTransition(cur.job, this.nowMs());
    try {
      h.s = await this.store.write(cur, next);
      this.emit('released', next, next.step);
    } catch (e) {
      if (!(e instanceof CasConflict)) this.opts.onError?.(e, `release ${cur.job.id}`);
    }
  }

  /** Commits a step's outcome (the record, the step's ops, the index moves) by CAS. */
  private async record(h: Held, kind: RegisteredKind, outcome: Outcome, sum: RunSummary): Promise<void> {
    const cur = h.s;
    const { next, ops, event, error } = resultTransition(cur.job, outcome, {
      nodeId: this.nodeId, now: this.nowMs(), leaseMs: this.leaseMs, continueRunning: !this.stopping,
      backoff: kind.backoff, random: this.random, ...(h.progress ? { progress: h.progress } : {}),
    });
    try {
      h.s = await this.store.write(cur, next, ops);
    } catch (e) {
      if (e instanceof CasConflict && e.key === jobPath(cur.job.id)) return this.markLost(h);
      if (ops.length > 0 && (e instanceof CasConflict || e instanceof RangeError)) {
        // The job record was fine but the step's own effects were refused (their CAS failed, or they
        // were malformed). Nothing was written: record it as a failed attempt of this step.
        return this.record(h, kind, { ok: false, error: e }, sum);
      }
      // Unknown outcome (the store failed mid-commit): stop touching this job. Its lease expires and
      // whoever claims it next reads what really happened.
      h.lost = `commit failed: ${e instanceof Error ? e.message : String(e)}`;
      h.ac.abort();
      this.opts.onError?.(e, `record ${cur.job.id}`);
      return;
    }
    h.progress = undefined;
    sum.steps++;
    if (event === 'succeeded') sum.succeeded++;
    else if (event === 'failed') sum.failed++;
    else if (event === 'retrying') sum.retried++;
    this.emit(event, next, cur.job.step, error ? { error } : {});
  }
}
