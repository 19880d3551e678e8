// What a job kind provides: a step handler, and optionally its own retry policy and step timeout.
//
// A handler runs ONE step and says what happens next. It must be idempotent: after a crash the
// step may run again (the engine guarantees that a step's *recorded* result lands at most once,
// not that its code runs at most once). The reliable way to make a step exactly-once is to return
// its storage effects as `ops`: they commit in the same transaction that records the step's
// result, under the job's compare-and-swap, so they happen exactly when the step advances.
// Effects outside rekey's storage (a database ALTER ROLE, an upstream KMS call) must be made
// idempotent by the handler itself: check before acting, or act in a way that is safe to repeat.
import type { Op } from '../storage/backend.ts';
import type { Barrier } from '../storage/barrier.ts';
import type { Job, Progress } from './model.ts';
import { randomInt } from '../crypto/index.ts';
import { MINUTE, SECOND } from './clock.ts';

interface Effects<D> {
  /** Replaces job.data for the following steps. */
  data?: D;
  /** Storage writes (plaintext values, as for Barrier.transaction) committed atomically with the result. */
  ops?: Op[];
  progress?: Progress;
}

export type StepResult<D = unknown> =
  /** The step is done; run `next` (at once, by the same worker while it holds the lease). */
  | (Effects<D> & { next: string })
  /** The job is finished. */
  | (Effects<D> & { done: true })
  /**
   * Not yet. With retryAt: run this step again at that time (a planned wait; it does not use up
   * an attempt). Without: run it again after the kind's backoff (counts as an attempt, like a throw).
   */
  | (Effects<D> & { retryAt?: Date });

export interface StepContext {
  readonly nodeId: string;
  /** 1 for the first run of this step, 2 after one failure or crash, ... */
  readonly attempt: number;
  /** Aborted when the job is cancelled, the lease is lost, the step times out, or the worker stops hard. */
  readonly signal: AbortSignal;
  readonly barrier: Barrier;
  now(): Date;
  /** Saved with the next heartbeat or with the step's result. */
  progress(p: Progress): void;
  /** Extends the lease now (and saves progress). Throws LeaseLost when this worker no longer owns the job. */
  heartbeat(): Promise<void>;
}

export type StepHandler<D = unknown> = (job: Readonly<Job<D>>, ctx: StepContext) => Promise<StepResult<D>>;

export interface BackoffPolicy {
  /** Delay before the second attempt. */
  baseMs: number;
  /** Each further attempt waits `factor` times longer, up to maxMs. */
  factor: number;
  maxMs: number;
  /** 0..1: the delay is drawn uniformly from [delay * (1 - jitter), delay]. */
  jitter: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({ baseMs: 5 * SECOND, factor: 2, maxMs: 60 * MINUTE, jitter: 0.5 });

export interface KindOptions {
  backoff?: Partial<BackoffPolicy>;
  /** A step running longer than this is aborted and counted as a failed attempt. Default 10 minutes. */
  stepTimeoutMs?: number;
}

export interface RegisteredKind {
  kind: string;
  handler: StepHandler<never>;
  backoff: BackoffPolicy;
  stepTimeoutMs: number;
}

export const DEFAULT_STEP_TIMEOUT_MS = 10 * MINUTE;

/**
 * Delay after the `attempt`-th failed start of a step: exponential, capped, with jitter so that
 * jobs failing together (one database down for a hundred rotations) do not retry in lockstep.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const exp = policy.baseMs * Math.pow(policy.factor, Math.max(0, attempt - 1));
  const delay = Math.min(policy.maxMs, exp);
  return Math.round(delay * (1 - policy.jitter * random()));
}

/** Uniform in [0, 1) from the crypto module (the engine's only randomness; tests inject their own). */
export function defaultRandom(): number {
  return randomInt(1 << 30) / (1 << 30);
}

export class LeaseLost extends Error {
  constructor(readonly jobId: string, reason: string) {
    super(`job ${jobId}: ${reason}`);
    this.name = 'LeaseLost';
  }
}

export class StepTimeout extends Error {
  constructor(step: string, ms: number) {
    super(`step ${step} did not finish within ${ms} ms`);
    this.name = 'StepTimeout';
  }
}
