// The job state machine as pure functions: (record, what happened, now) -> next record. The runner
// does the I/O (CAS writes, heartbeats); everything it decides is here, where it can be read whole.
import type { Op } from '../storage/backend.ts';
import { type BackoffPolicy, type StepResult, backoffDelay } from './kinds.ts';
import { type Job, type JobError, type Progress, JobState, checkStep, describeError } from './model.ts';

export type Outcome = { ok: true; result: StepResult } | { ok: false; error: unknown };

export type TransitionEvent = 'step' | 'waiting' | 'retrying' | 'succeeded' | 'failed';

export interface ClaimParams {
  nodeId: string;
  now: number;
  leaseMs: number;
}

/**
 * queued (due) or running with an expired lease -> running under our lease, one more attempt.
 * Past maxAttempts it goes to failed instead: the step was started that many times and never
 * recorded a result, so it keeps killing or stalling its worker; stop rather than crash nodes forever.
 */
export function claimTransition(job: Job, p: ClaimParams): Job {
  const attempt = job.attempt + 1;
  if (attempt > job.maxAttempts) {
    const lastError = describeError({ name: 'LeaseExpired', message: `step ${job.step} was started ${job.attempt} times without finishing (its worker died or stalled)` }, job.step, job.attempt, p.now);
    return { ...job, state: JobState.failed, lease: null, updatedAt: p.now, finishedAt: p.now, lastError };
  }
  const takeover = job.state === JobState.running;
  return {
    ...job, state: JobState.running, attempt, lease: { owner: p.nodeId, expiresAt: p.now + p.leaseMs }, updatedAt: p.now,
    ...(takeover ? { lastError: describeError({ name: 'LeaseExpired', message: `lease of ${job.lease?.owner ?? '?'} expired; taken over by ${p.nodeId}` }, job.step, job.attempt, p.now) } : {}),
  };
}

export interface ResultParams extends ClaimParams {
  /** False when the worker is stopping: a finished step's successor is queued instead of run. */
  continueRunning: boolean;
  backoff: BackoffPolicy;
  random: () => number;
  /** Progress reported through ctx.progress() and not saved yet. */
  progress?: Progress;
}

export interface Transition {
  next: Job;
  ops: Op[];
  event: TransitionEvent;
  error?: JobError;
}

/** What a step's outcome does to the record (the runner commits it with `ops` under CAS). */
export function resultTransition(job: Job, outcome: Outcome, p: ResultParams): Transition {
  const now = p.now;
  const base: Job = { ...job, updatedAt: now, ...(p.progress ? { progress: p.progress } : {}) };
  const r = outcome.ok ? outcome.result : undefined;
  const shapeError = r ? resultShapeError(r) : undefined;
  if (r && !shapeError) {
    if (r.progress) base.progress = { ...r.progress };
    if (r.data !== undefined) base.data = r.data;
    const ops = r.ops ?? [];
    if ('done' in r) return { next: { ...base, state: JobState.succeeded, lease: null, finishedAt: now }, ops, event: 'succeeded' };
    if ('next' in r) {
      // Keep the lease and go straight on, unless the worker is stopping.
      const cont = p.continueRunning;
      const next: Job = {
        ...base, step: r.next, attempt: cont ? 1 : 0, runAt: now, state: cont ? JobState.running : JobState.queued,
        lease: cont ? { owner: p.nodeId, expiresAt: now + p.leaseMs } : null,
      };
      return { next, ops, event: 'step' };
    }
    const retryAt = retryAtOf(r);
    // A planned wait: the next start of this step is a fresh first attempt.
    if (retryAt) return { next: { ...base, state: JobState.queued, lease: null, attempt: 0, runAt: Math.max(now, retryAt.getTime()) }, ops, event: 'waiting' };
    // { } or { retryAt: undefined }: "not yet, try again after backoff", an attempt without an error.
  }
  const cause = shapeError ?? (outcome.ok ? undefined : outcome.error);
  const error = cause !== undefined ? describeError(cause, job.step, job.attempt, now) : undefined;
  const withError = error ? { lastError: error } : {};
  // Ops of a failed attempt are dropped: only a step that succeeds may change anything else.
  if (job.attempt >= job.maxAttempts) {
    return { next: { ...base, ...withError, state: JobState.failed, lease: null, finishedAt: now }, ops: [], event: 'failed', ...(error ? { error } : {}) };
  }
  const runAt = now + backoffDelay(p.backoff, job.attempt, p.random);
  return { next: { ...base, ...withError, state: JobState.queued, lease: null, runAt }, ops: [], event: 'retrying', ...(error ? { error } : {}) };
}

/** A running job handed back to the queue (the worker is stopping), without counting the step it did not start. */
export function releaseTransition(job: Job, now: number): Job {
  return { ...job, state: JobState.queued, attempt: Math.max(0, job.attempt - 1), lease: null, runAt: now, updatedAt: now };
}

export function heartbeatTransition(job: Job, p: ClaimParams & { progress?: Progress }): Job {
  return { ...job, lease: { owner: p.nodeId, expiresAt: p.now + p.leaseMs }, updatedAt: p.now, ...(p.progress ? { progress: p.progress } : {}) };
}

const MAX_RETRY_AT = Date.UTC(9999, 0, 1);

function retryAtOf(r: StepResult): Date | undefined {
  return (r as { retryAt?: Date }).retryAt;
}

/** Handlers are code, but a malformed result must become a failed attempt, never a failed commit. */
export function resultShapeError(r: StepResult): Error | undefined {
  if (typeof r !== 'object' || r === null) return new TypeError('step handler returned no result object');
  if ('done' in r) return r.done === true ? undefined : new TypeError('step result: done must be true');
  if ('next' in r) {
    try {
      checkStep(r.next);
      return undefined;
    } catch (e) {
      return e as Error;
    }
  }
  const retryAt: unknown = retryAtOf(r);
  if (retryAt === undefined) return undefined;
  if (!(retryAt instanceof Date && Number.isFinite(retryAt.getTime()) && retryAt.getTime() < MAX_RETRY_AT)) return new TypeError('step result: retryAt must be a valid Date before year 9999');
  return undefined;
}
