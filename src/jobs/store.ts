// The job store: every read and write of job records and their indexes. The record's storage
// version is the compare-and-swap token: each change names the version it was computed from, so of
// two nodes changing the same job (two claimers, a worker and a cancel, a worker that lost its lease
// and the one that took it over) exactly one write lands and the other gets CasConflict.
import type { Op } from '../storage/backend.ts';
import { CasConflict } from '../storage/backend.ts';
import { Barrier } from '../storage/barrier.ts';
import { gatedBarrier, type BarrierView, type WriteGate } from '../storage/gate.ts';
import { NotFoundException, ValidationException } from '../errors.ts';
import type { Clock } from './clock.ts';
import {
  type Job, type JobStateName, JobState, JOB_ID, JOB_STATES, PREFIX,
  checkDedupeKey, checkKind, checkStep, checkTarget, dedupePath, duePath, isTerminal, jobPath, newJobId,
  parseDuePath, sortableTime, statePath,
} from './model.ts';

export interface Stored<D = unknown> {
  job: Job<D>;
  version: number;
}

export interface EnqueueInput<D = unknown> {
  kind: string;
  target: string;
  data: D;
  /** First step (default 'start'). */
  step?: string;
  /** Earliest time to run (default now). */
  runAt?: Date | number;
  /** Default DEFAULT_MAX_ATTEMPTS. */
  maxAttempts?: number;
  /** At most one job is ever created per dedupe key, however many nodes race to create it. */
  dedupeKey?: string;
}

export interface ListJobsQuery {
  state?: JobStateName;
  kind?: string;
  /** Job id to continue after (the `next` of the previous page). */
  after?: string;
  /** 1..1000, default 50. */
  limit?: number;
}

export interface DueRef {
  key: string;
  id: string;
  at: string;
}

export const DEFAULT_MAX_ATTEMPTS = 8;
// A filtered listing stops after reading this many records and hands back a cursor, so one admin
// request never reads the whole job table.
const LIST_SCAN_BUDGET = 1000;
const CAS_RETRIES = 20;

export class JobStore {
  /** Reads and writes go through this: the barrier, or one admin call's gated view of it (src/storage/gate.ts). */
  private readonly rw: BarrierView;

  constructor(readonly barrier: Barrier, readonly clock: Clock, gate?: WriteGate) {
    this.rw = gate ? gatedBarrier(barrier, gate) : barrier;
  }

  /** The ops that create a job; callers may commit them with their own writes in one transaction. */
  createOps<D>(input: EnqueueInput<D>): { job: Job<D>; ops: Op[] } {
    checkKind(input.kind);
    checkTarget(input.target);
    const step = input.step ?? 'start';
    checkStep(step);
    const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!(Number.isSafeInteger(maxAttempts) && maxAttempts >= 1 && maxAttempts <= 1000)) throw new ValidationException('maxAttempts must be an integer from 1 to 1000');
    if (input.dedupeKey !== undefined) checkDedupeKey(input.dedupeKey);
    const now = this.clock.now().getTime();
    const runAt = input.runAt === undefined ? now : new Date(input.runAt).getTime();
    sortableTime(runAt);
    const job: Job<D> = {
      v: 1, id: newJobId(now), kind: input.kind, target: input.target, step, state: JobState.queued,
      attempt: 0, maxAttempts, runAt, lease: null, createdAt: now, updatedAt: now, data: input.data,
      ...(input.dedupeKey !== undefined ? { dedupeKey: input.dedupeKey } : {}),
    };
    const ops = [Barrier.putOp(jobPath(job.id), job, 0), ...indexOps(null, job)];
    if (input.dedupeKey !== undefined) ops.push(Barrier.putOp(dedupePath(input.dedupeKey), { id: job.id }, 0));
    return { job, ops };
  }

  /**
   * Creates a job, or returns the existing one when its dedupe key was already used. The dedupe
   * entry is created with expectVersion 0 in the same transaction as the job: of N racing
   * creators one transaction commits and the others change nothing.
   */
  async enqueue<D>(input: EnqueueInput<D>): Promise<{ job: Job<D>; created: boolean }> {
    if (input.dedupeKey !== undefined) {
      // Cheap read first: schedule sources offer the same due item on every scan until it is done.
      const existing = await this.byDedupeKey<D>(input.dedupeKey);
      if (existing) return { job: existing.job, created: false };
    }
    const { job, ops } = this.createOps(input);
    try {
      await this.rw.transaction(ops);
      return { job, created: true };
    } catch (e) {
      if (!(e instanceof CasConflict) || input.dedupeKey === undefined) throw e;
      const existing = await this.byDedupeKey<D>(input.dedupeKey);
      if (!existing) throw e;
      return { job: existing.job, created: false };
    }
  }

  async byDedupeKey<D>(key: string): Promise<Stored<D> | null> {
    checkDedupeKey(key);
    const d = await this.rw.getJSON<{ id: string }>(dedupePath(key));
    return d ? this.get<D>(d.value.id) : null;
  }

  async get<D = unknown>(id: string): Promise<Stored<D> | null> {
    if (!JOB_ID.test(id)) return null;
    const e = await this.rw.getJSON<Job<D>>(jobPath(id));
    return e ? { job: e.value, version: e.version } : null;
  }

  async mustGet<D = unknown>(id: string): Promise<Stored<D>> {
    const s = await this.get<D>(id);
    if (!s) throw new NotFoundException(`Job ${id} does not exist`);
    return s;
  }

  /**
   * Replaces `prev` with `next` if nobody changed the record since `prev` was read, moving index
   * entries in the same transaction; `extra` ops (a step's own effects) commit with it or not at
   * all. Returns the new version; throws CasConflict when the record moved on.
   */
  async write<D>(prev: Stored<D>, next: Job<D>, extra: Op[] = []): Promise<Stored<D>> {
    const path = jobPath(prev.job.id);
    await this.rw.transaction([Barrier.putOp(path, next, prev.version), ...indexOps(prev.job, next), ...extra]);
    return { job: next, version: prev.version + 1 };
  }

  /**
   * Entries at or before `now` of the due index (queued jobs) or the lease index (running jobs,
   * by lease expiry), in time order, one page at a time. The indexes hold only queued and running
   * jobs, sorted by time, so this reads the due entries plus at most one page: its cost follows
   * the number of due jobs, not the number of jobs.
   */
  async scanDue(now: number, opts: { index: 'due' | 'lease'; after?: string; limit: number }): Promise<{ refs: DueRef[]; more: boolean }> {
    const bound = sortableTime(now);
    const keys = await this.rw.list(PREFIX[opts.index], { ...(opts.after !== undefined ? { after: opts.after } : {}), limit: opts.limit });
    const refs: DueRef[] = [];
    for (const key of keys) {
      const p = parseDuePath(key);
      if (!p) continue;
      if (p.at > bound) return { refs, more: false };
      refs.push({ key, ...p });
    }
    return { refs, more: keys.length === opts.limit };
  }

  async list(q: ListJobsQuery = {}): Promise<{ jobs: Job[]; next?: string }> {
    const limit = q.limit ?? 50;
    if (!(Number.isSafeInteger(limit) && limit >= 1 && limit <= 1000)) throw new ValidationException('limit must be an integer from 1 to 1000');
    if (q.state !== undefined && !JOB_STATES.includes(q.state)) throw new ValidationException(`state must be one of ${JOB_STATES.join(', ')}`);
    if (q.kind !== undefined) checkKind(q.kind);
    if (q.after !== undefined && !JOB_ID.test(q.after)) throw new ValidationException('invalid pagination token');
    const prefix = q.state ? `${PREFIX.state}${q.state}/` : PREFIX.job;
    const jobs: Job[] = [];
    let after = q.after !== undefined ? prefix + q.after : undefined;
    let scanned = 0;
    for (;;) {
      const page = Math.min(limit - jobs.length, 200);
      const keys = await this.rw.list(prefix, { ...(after !== undefined ? { after } : {}), limit: page });
      const read = await Promise.all(keys.map((k) => this.get(k.slice(prefix.length))));
      for (const s of read) {
        // A job missing here was deleted between list and get; one in another state just moved.
        if (s && (!q.state || s.job.state === q.state) && (!q.kind || s.job.kind === q.kind)) jobs.push(s.job);
      }
      scanned += keys.length;
      if (keys.length < page) return { jobs };
      after = keys[keys.length - 1]!;
      if (jobs.length >= limit || scanned >= LIST_SCAN_BUDGET) return { jobs, next: after.slice(prefix.length) };
    }
  }

  /**
   * Cancels a job. A queued job never runs again; a running job's worker finds out at its next
   * write (heartbeat or step result) and stops before the next step, its current step's effects
   * discarded with that write. Cancelling a cancelled job is a no-op.
   */
  async cancel(id: string): Promise<Job> {
    return this.update(id, (job, now) => {
      if (job.state === JobState.cancelled) return null;
      if (isTerminal(job)) throw new ValidationException(`Job ${id} is ${job.state}; only queued or running jobs can be cancelled`);
      return { ...job, state: JobState.cancelled, lease: null, updatedAt: now, finishedAt: now };
    });
  }

  /**
   * Failed or cancelled: queued again at the step where it stopped, with a fresh attempt budget.
   * Queued (waiting for a backoff or a retryAt): made due now.
   */
  async retry(id: string): Promise<Job> {
    return this.update(id, (job, now) => {
      if (job.state === JobState.failed || job.state === JobState.cancelled) {
        const { finishedAt: _f, ...rest } = job;
        return { ...rest, state: JobState.queued, attempt: 0, runAt: now, lease: null, updatedAt: now };
      }
      if (job.state === JobState.queued) return { ...job, runAt: Math.min(job.runAt, now), updatedAt: now };
      throw new ValidationException(`Job ${id} is ${job.state}; only failed, cancelled or queued jobs can be retried`);
    });
  }

  /** Read-modify-CAS loop for administrative changes; `change` returns null for "nothing to do". */
  private async update(id: string, change: (job: Job, now: number) => Job | null): Promise<Job> {
    for (let i = 0; ; i++) {
      const cur = await this.mustGet(id);
      const next = change(cur.job, this.clock.now().getTime());
      if (!next) return cur.job;
      try {
        return (await this.write(cur, next)).job;
      } catch (e) {
        // A worker heartbeat or step result landed first: recompute from the new record.
        if (!(e instanceof CasConflict) || i >= CAS_RETRIES) throw e;
      }
    }
  }
}

/** Index entries to delete and create when a record changes from `prev` to `next`. */
export function indexOps(prev: Job | null, next: Job): Op[] {
  const ops: Op[] = [];
  const move = (from: string | null, to: string | null) => {
    if (from === to) return;
    if (from !== null) ops.push({ type: 'delete', key: from });
    if (to !== null) ops.push(Barrier.putOp(to, {}));
  };
  move(prev ? duePath(prev) : null, duePath(next));
  move(prev ? statePath(prev.state, prev.id) : null, statePath(next.state, next.id));
  return ops;
}
