// The KMS key lifecycle: automatic rotation and scheduled deletion as durable jobs, service-managed
// keys, usage budgets and the key-dependency registry. docs/ROTATION.md describes it for people.
//
// KmsService creates one (kms.lifecycle) and gives the operations its hooks (KmsContext.lifecycle).
// A node that runs workers also registers the job kinds and schedule sources on its engine:
//
//   const kms = new KmsService({ ..., lifecycle: { onKeyEvent } });
//   const jobs = new JobEngine({ barrier, worker: { onEvent: (e) => kms.lifecycle.onJobEvent(e) } });
//   kms.lifecycle.register(jobs);        // kms.rotate, kms.delete, sources kms.rotation, kms.deletion
//   jobs.start();
import type { KindOptions, StepHandler } from '../../jobs/kinds.ts';
import type { JobEvent } from '../../jobs/runner.ts';
import type { ScheduleSource } from '../../jobs/scheduler.ts';
import { type EnqueueInput, JobStore } from '../../jobs/store.ts';
import type { Job } from '../../jobs/model.ts';
import type { Barrier } from '../../storage/barrier.ts';
import { keyNotFound, type KmsContext } from '../context.ts';
import type { Scope } from '../ids.ts';
import type { KeyStore } from '../keystore.ts';
import type { KeyRecord } from '../model.ts';
import { resolveKeyId } from '../resolve.ts';
import { LifecycleAdmin } from './admin.ts';
import { DELETE_KIND_OPTIONS, ROTATE_KIND_OPTIONS } from './kinds.ts';
import { KIND_DELETE, deleteHandler, type DeleteJobData } from './delete.ts';
import { Dependents, requireNoDependents } from './dependents.ts';
import type { Dependent, KeyEvent, LifecycleHooks, ManagedOperation } from './hooks.ts';
import { reindex } from './reindex.ts';
import { KIND_ROTATE, rotateHandler, type RotateJobData } from './rotate.ts';
import { ServiceKeys, requireCustomerManaged, serviceOfAlias } from './service-keys.ts';
import { KMS_JOB_MAX_ATTEMPTS, deletionSource, rotationSource } from './sources.ts';
import { UsageMeter, type UsageCounter } from './usage.ts';
import { upcomingKeyWork, type UpcomingKeyWork } from './upcoming.ts';

export type { Dependent, DependentInput, KeyEvent } from './hooks.ts';
export type { LifecycleAdmin } from './admin.ts';
export { KIND_DELETE, KIND_ROTATE };

export const HOUR_MS = 3_600_000;

export interface LifecycleOptions {
  /** After a rotation or deletion job committed (wired to the audit trail). Needs onJobEvent wired. */
  onKeyEvent?: (e: KeyEvent) => void;
  /** A rotation job that finds its key Disabled or PendingDeletion looks again this much later. Default 1 h. */
  disabledRecheckMs?: number;
  /** Usage budgets: flush local tallies every flushMs (default 250) or every flushEvery encryptions (default 1,000). */
  usageFlushMs?: number;
  usageFlushEvery?: number;
  onError?: (e: unknown, where: string) => void;
}

export interface LifecycleDeps {
  barrier: Barrier;
  store: KeyStore;
  scope: Scope;
  clock: () => Date;
}

/** The part of JobEngine the lifecycle uses (tests pass a wrapper that delays or counts steps). */
export interface EngineLike {
  registerKind<D>(kind: string, handler: StepHandler<D>, opts?: KindOptions): void;
  addSource(source: ScheduleSource): void;
  enqueue?<D>(input: EnqueueInput<D>): Promise<{ job: Job<D>; created: boolean }>;
}

export class KmsLifecycle {
  readonly hooks: LifecycleHooks;
  readonly dependents: Dependents;
  readonly serviceKeys: ServiceKeys;
  readonly usage: UsageMeter;
  private readonly jobStore: JobStore;
  private engine: EngineLike | undefined;
  private ctx: KmsContext | undefined;
  private readonly listeners: ((e: KeyEvent) => void)[] = [];

  constructor(private readonly deps: LifecycleDeps, private readonly opts: LifecycleOptions = {}) {
    if (opts.onKeyEvent) this.listeners.push(opts.onKeyEvent);
    this.jobStore = new JobStore(deps.barrier, { now: deps.clock });
    this.serviceKeys = new ServiceKeys(deps.barrier, deps.store, deps.scope, deps.clock);
    this.dependents = new Dependents(deps.barrier, deps.store, (ident) => this.resolveExisting(ident), (keyId) => keyNotFound(deps.scope, keyId), deps.clock);
    this.usage = new UsageMeter(deps.barrier, {
      ...(opts.usageFlushMs !== undefined ? { flushMs: opts.usageFlushMs } : {}),
      ...(opts.usageFlushEvery !== undefined ? { flushEvery: opts.usageFlushEvery } : {}),
      onExhausted: (keyId, materialId) => this.requestBudgetRotation(keyId, materialId),
      onError: (e, where) => opts.onError?.(e, where),
    });
    this.hooks = Object.freeze({
      serviceKeyFor: async (aliasName: string) => {
        const service = serviceOfAlias(aliasName);
        return service === null ? null : this.serviceKeys.ensure(service);
      },
      guard: (rec: KeyRecord, operation: ManagedOperation, known?: readonly Dependent[]) => this.guard(rec, operation, known ?? [], false),
      dependentsOf: (keyId: string) => ((keyIdOf(keyId) === null) ? Promise.resolve([]) : this.dependents.listByKeyId(keyId)),
      recordUse: this.usage.record.bind(this.usage),
    });
  }

  private adminApi: LifecycleAdmin | undefined;

  /** The administrator's operations (src/http/admin-kms-lifecycle.ts serves them). */
  admin(): LifecycleAdmin {
    this.adminApi ??= new LifecycleAdmin(this);
    return this.adminApi;
  }

  /** Called once by KmsService with the context the operations use. */
  bind(ctx: KmsContext): void {
    this.ctx = ctx;
  }

  /** Registers kms.rotate, kms.delete and the kms.rotation / kms.deletion schedule sources. */
  register(engine: EngineLike): void {
    engine.registerKind<RotateJobData>(KIND_ROTATE, rotateHandler({ recheckMs: this.opts.disabledRecheckMs ?? HOUR_MS }), ROTATE_KIND_OPTIONS);
    engine.registerKind<DeleteJobData>(KIND_DELETE, deleteHandler(), DELETE_KIND_OPTIONS);
    engine.addSource(rotationSource(this.deps.barrier));
    engine.addSource(deletionSource(this.deps.barrier));
    this.engine = engine;
  }

  /**
   * Feed every job event here (JobEngine worker.onEvent). After a kms.rotate or kms.delete job
   * succeeded with an effect, the key's cache entry on this node is dropped at once (other nodes
   * see the change within their cache TTL) and onKeyEvent is called.
   */
  onJobEvent(e: JobEvent): void {
    if (e.type !== 'succeeded') return;
    if (e.job.kind === KIND_ROTATE) {
      const d = e.job.data as RotateJobData;
      if (d.outcome !== 'rotated') return;
      this.deps.store.invalidateKey(d.keyId);
      this.emit({ type: 'RotateKey', keyArn: d.keyArn ?? '', keyId: d.keyId, ...(d.newMaterialId ? { materialId: d.newMaterialId } : {}), trigger: d.trigger, at: new Date(d.at ?? 0) });
    } else if (e.job.kind === KIND_DELETE) {
      const d = e.job.data as DeleteJobData;
      if (d.outcome !== 'deleted') return;
      this.deps.store.invalidateKey(d.keyId);
      for (const a of d.aliases ?? []) this.deps.store.invalidateAlias(a);
      this.emit({ type: 'DeleteKey', keyArn: d.keyArn ?? '', keyId: d.keyId, at: new Date(d.at ?? 0) });
    }
  }

  /** The AWS managed key for a service (alias/aws/<service>), created on first use. For other rekey components. */
  async serviceKey(service: string): Promise<{ keyId: string; arn: string; aliasName: string }> {
    const keyId = await this.serviceKeys.ensure(service);
    const rec = await this.deps.store.getKey(keyId);
    if (!rec) throw keyNotFound(this.deps.scope, keyId);
    return { keyId, arn: rec.record.arn, aliasName: `alias/aws/${service}` };
  }

  /**
   * The guard of the management operations. `force` (the admin API's override) lifts the
   * dependents check only: AWS managed keys stay unmanageable for everyone.
   */
  guard(rec: KeyRecord, operation: ManagedOperation, known: readonly Dependent[], force: boolean): void {
    requireCustomerManaged(rec, operation);
    if (!force && (operation === 'DisableKey' || operation === 'ScheduleKeyDeletion')) requireNoDependents(rec, operation, known);
  }

  /** Resolves any key identifier to the id of a key that exists (NotFoundException otherwise). */
  async resolveExisting(ident: string): Promise<string> {
    const keyId = await resolveKeyId(this.context(), ident, 'any');
    if (!(await this.deps.store.readKey(keyId))) throw keyNotFound(this.deps.scope, keyId);
    return keyId;
  }

  context(): KmsContext {
    if (!this.ctx) throw new Error('KmsLifecycle is not bound to a KMS context');
    return this.ctx;
  }

  /** Creates the budget rotation job (once per material version, whichever node asks first). */
  async requestBudgetRotation(keyId: string, materialId: string): Promise<void> {
    const input: EnqueueInput<RotateJobData> = {
      kind: KIND_ROTATE, target: keyId, data: { keyId, trigger: 'budget', materialId },
      dedupeKey: `kms.budget/${keyId}/${materialId}`, maxAttempts: KMS_JOB_MAX_ATTEMPTS,
    };
    // Through the engine when this node runs one: its worker is woken at once.
    if (this.engine?.enqueue) await this.engine.enqueue(input);
    else await this.jobStore.enqueue(input);
  }

  /** Rotations and deletions due by `until`, and budgets at or over `threshold` (after flushing this node's tallies). */
  async upcoming(o: { until: Date; threshold: number; limit: number }): Promise<UpcomingKeyWork> {
    await this.usage.flush();
    return upcomingKeyWork(this.deps.barrier, this.deps.store, o);
  }

  /** The shared usage counter of the key's current material (after flushing this node's tally). */
  async usageOf(keyId: string, materialId: string): Promise<UsageCounter> {
    await this.usage.flush();
    return this.usage.read(keyId, materialId);
  }

  /**
   * Writes the due-index entries of keys stored before rekey kept these indexes (once per store;
   * afterwards one read). Call at start-up, before the engine starts.
   */
  reindex(): Promise<{ scanned: number; written: number; skipped: boolean }> {
    return reindex(this.deps.barrier, this.deps.store);
  }

  /** Flushes usage tallies and stops their timer (call on shutdown). */
  close(): Promise<void> {
    return this.usage.close();
  }

  /** Another onKeyEvent listener (the audit trail, tests). */
  addKeyEventListener(fn: (e: KeyEvent) => void): void {
    this.listeners.push(fn);
  }

  private emit(e: KeyEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        this.opts.onError?.(err, 'onKeyEvent');
      }
    }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
function keyIdOf(keyId: string): string | null {
  return UUID.test(keyId) ? keyId : null;
}
