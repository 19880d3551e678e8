// The job engine as one object: store + worker + scheduler sharing a barrier, a clock and a node id.
// This is what the server constructs, what domain modules register kinds and schedule sources on,
// and what the admin API adapts.
//
//   const jobs = new JobEngine({ barrier, nodeId, clock });
//   jobs.registerKind('kms.rotate', rotateHandler);
//   jobs.addSource(kmsRotationSource);
//   jobs.start();            // polling worker + scheduler
//   ...
//   await jobs.stop();       // waits for running steps, hands their jobs back
import { hostname } from 'node:os';
import { randomBytes } from '../crypto/index.ts';
import type { Barrier } from '../storage/barrier.ts';
import type { WriteGate } from '../storage/gate.ts';
import { type Clock, SystemClock } from './clock.ts';
import type { KindOptions, StepHandler } from './kinds.ts';
import type { Job } from './model.ts';
import { type RunSummary, type WorkerOptions, Worker } from './runner.ts';
import { type ScanSummary, type ScheduleSource, type SchedulerOptions, Scheduler } from './scheduler.ts';
import { type EnqueueInput, type ListJobsQuery, JobStore } from './store.ts';

export interface JobEngineOptions {
  barrier: Barrier;
  /** Names this process as a lease owner; must differ between live processes. Default host-pid-random. */
  nodeId?: string;
  clock?: Clock;
  worker?: Omit<WorkerOptions, 'nodeId' | 'store' | 'clock'>;
  scheduler?: Omit<SchedulerOptions, 'clock'>;
}

/** The operations the admin API and CLI need (also implemented by the HTTP client in src/cli). */
export interface JobsAdmin {
  get(id: string): Promise<Job | null>;
  list(q: ListJobsQuery): Promise<{ jobs: Job[]; next?: string }>;
  retry(id: string): Promise<Job>;
  cancel(id: string): Promise<Job>;
}

export function defaultNodeId(): string {
  return `${hostname().replace(/[^\x21-\x7e]/g, '').slice(0, 64) || 'node'}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export class JobEngine implements JobsAdmin {
  readonly store: JobStore;
  readonly worker: Worker;
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly nodeId: string;

  constructor(opts: JobEngineOptions) {
    this.clock = opts.clock ?? new SystemClock();
    this.nodeId = opts.nodeId ?? defaultNodeId();
    this.store = new JobStore(opts.barrier, this.clock);
    this.worker = new Worker({ ...opts.worker, nodeId: this.nodeId, store: this.store, clock: this.clock });
    this.scheduler = new Scheduler(this.store, { ...opts.scheduler, clock: this.clock });
  }

  registerKind<D>(kind: string, handler: StepHandler<D>, opts?: KindOptions): void {
    this.worker.registerKind(kind, handler, opts);
  }

  addSource(source: ScheduleSource): void {
    this.scheduler.addSource(source);
  }

  /** Creates a job (or returns the one already created under its dedupe key). */
  async enqueue<D>(input: EnqueueInput<D>): Promise<{ job: Job<D>; created: boolean }> {
    const r = await this.store.enqueue(input);
    if (r.created && r.job.runAt <= this.clock.now().getTime()) this.worker.wake();
    return r;
  }

  async get(id: string): Promise<Job | null> {
    return (await this.store.get(id))?.job ?? null;
  }

  list(q: ListJobsQuery = {}): Promise<{ jobs: Job[]; next?: string }> {
    return this.store.list(q);
  }

  async retry(id: string): Promise<Job> {
    const job = await this.store.retry(id);
    this.worker.wake();
    return job;
  }

  cancel(id: string): Promise<Job> {
    return this.store.cancel(id);
  }

  /**
   * The admin operations as one mutating admin call sees them: writes go through the call's gated
   * barrier view (src/storage/gate.ts), so the call's audit event is recorded right before the first
   * write, and a refused call (a job in the wrong state) writes nothing and records only its error.
   */
  forCall(gate: WriteGate): JobsAdmin {
    const store = new JobStore(this.store.barrier, this.clock, gate);
    return {
      get: async (id) => (await store.get(id))?.job ?? null,
      list: (q) => store.list(q),
      retry: async (id) => {
        const job = await store.retry(id);
        this.worker.wake();
        return job;
      },
      cancel: (id) => store.cancel(id),
    };
  }

  /** One deterministic round: scan schedule sources, then run what is due. For tests and tools. */
  async tick(now: Date = this.clock.now()): Promise<{ scan: ScanSummary; run: RunSummary }> {
    const scan = await this.scheduler.scanOnce(now);
    const run = await this.worker.runDueOnce(now);
    return { scan, run };
  }

  start(): void {
    this.scheduler.start();
    this.worker.start();
  }

  async stop(): Promise<void> {
    await this.scheduler.stop();
    await this.worker.stop();
  }
}
