// The long operations of instances as durable jobs (src/jobs), visible in `rekey jobs`:
//   db.create   provision (unlock/make volume, initdb, start, admin role, database) -> done
//   db.start    start                 db.stop  stop            db.reboot  start (server down, volume locked) -> up
//   db.delete   delete (server, mount, files, grant, dependent, managed secret, record)
//   db.rewrap   rewrap: the volume key to the KMS key's newest material
// Each step is idempotent (the runtime re-adopts what is already there); the record's new status
// commits in the same transaction as the step's result (ops), so a crash at any instant leaves
// a job that resumes. A create that crashed resumes and finishes: the instance works, or, after the
// attempts run out, is `failed` and DeleteDBInstance removes it (never a volume blocking the name).
import { Barrier } from '../storage/barrier.ts';
import type { Op } from '../storage/backend.ts';
import type { JobEngine } from '../jobs/engine.ts';
import type { StepResult } from '../jobs/kinds.ts';
import type { Job } from '../jobs/model.ts';
import { RekeyError } from '../errors.ts';
import type { DbInstanceStatus } from './api.ts';
import { instancePath, pendingPasswordPath, type InstanceRecord } from './model.ts';

export const DB_JOB_KINDS = ['db.create', 'db.start', 'db.stop', 'db.reboot', 'db.delete', 'db.rewrap'] as const;
export type DbJobKind = (typeof DB_JOB_KINDS)[number];
export interface DbJobData { id: string; resourceId: string; opId: string }

export const MAX_ATTEMPTS = 5;

export interface JobHooks {
  barrier: Barrier;
  provision(rec: InstanceRecord, masterPassword: Buffer | null): Promise<void>;
  bringUp(rec: InstanceRecord): Promise<void>;
  bringDown(rec: InstanceRecord): Promise<void>;
  destroy(rec: InstanceRecord): Promise<void>;
  rewrap(rec: InstanceRecord): Promise<string>;
  /** The instance's cluster was completely made (initdb finished). */
  initialized(rec: InstanceRecord): boolean;
  log(m: string): void;
}

/** Errors of the KMS key's state: the instance's storage cannot be unlocked (RDS: inaccessible-encryption-credentials). */
export function isKeyInaccessible(e: unknown): boolean {
  return e instanceof RekeyError && ['DisabledException', 'KMSInvalidStateException', 'NotFoundException', 'AccessDeniedException', 'InvalidCiphertextException'].includes(e.name);
}

async function load(b: Barrier, data: DbJobData): Promise<{ rec: InstanceRecord; version: number } | null> {
  const got = await b.getJSON<InstanceRecord>(instancePath(data.id));
  if (!got || got.value.resourceId !== data.resourceId) return null;
  return { rec: got.value, version: got.version };
}

function setStatus(cur: { rec: InstanceRecord; version: number }, status: DbInstanceStatus, extra: Partial<InstanceRecord> = {}): Op {
  const { op: _op, ...rest } = cur.rec;
  return Barrier.putOp(instancePath(cur.rec.id), { ...rest, ...extra, status }, cur.version);
}

export function registerDbJobs(engine: JobEngine, h: JobHooks): void {
  const b = h.barrier;
  const progress = (m: string) => ({ done: 0, total: 1, message: m });

  /** A start that fails on the key's state ends in inaccessible-encryption-credentials; other failures retry, then `failed`. */
  const startOrReport = async (cur: { rec: InstanceRecord; version: number }, attempt: number, up: () => Promise<void>): Promise<StepResult<DbJobData>> => {
    try {
      await up();
    } catch (e) {
      if (isKeyInaccessible(e)) {
        await h.bringDown(cur.rec).catch(() => {});
        return { done: true, ops: [setStatus(cur, 'inaccessible-encryption-credentials', { lastError: (e as Error).name })], progress: progress('KMS key not usable') };
      }
      if (attempt >= MAX_ATTEMPTS) return { done: true, ops: [setStatus(cur, 'failed', { lastError: e instanceof Error ? e.name : 'Error' })] };
      throw e;
    }
    // the step may have written the record itself (provision: grant, wrapped volume key, keyring and
    // token): commit on the version it left, not fail the CAS and run the whole step again
    const now = (await load(b, { id: cur.rec.id, resourceId: cur.rec.resourceId, opId: '' })) ?? cur;
    return { done: true, ops: [setStatus(now, 'available', { lastError: undefined } as Partial<InstanceRecord>)], progress: progress('available') };
  };

  engine.registerKind<DbJobData>('db.create', async (job: Readonly<Job<DbJobData>>, sc) => {
    const cur = await load(b, job.data);
    if (!cur) return { done: true };
    sc.progress(progress('provisioning volume and cluster'));
    const pw = await b.getJSON<{ password: string }>(pendingPasswordPath(cur.rec.id));
    const master = pw ? Buffer.from(pw.value.password, 'utf8') : null;
    const res = await startOrReport(cur, sc.attempt, () => h.provision(cur.rec, master));
    // the master password is not needed once the cluster exists (kept while it does not: a create
    // stopped by an inaccessible key finishes on the next StartDBInstance)
    if (pw && h.initialized(cur.rec)) res.ops = [...(res.ops ?? []), { type: 'delete', key: pendingPasswordPath(cur.rec.id) }];
    return res;
  }, { backoff: { baseMs: 1000, maxMs: 30_000 } });

  engine.registerKind<DbJobData>('db.start', async (job, sc) => {
    const cur = await load(b, job.data);
    if (!cur) return { done: true };
    sc.progress(progress('unlocking the volume and starting the server'));
    if (h.initialized(cur.rec)) return startOrReport(cur, sc.attempt, () => h.bringUp(cur.rec));
    // a create that never got its cluster (its key was inaccessible then): provision now
    const pw = await b.getJSON<{ password: string }>(pendingPasswordPath(cur.rec.id));
    const res = await startOrReport(cur, sc.attempt, () => h.provision(cur.rec, pw ? Buffer.from(pw.value.password, 'utf8') : null));
    if (pw && h.initialized(cur.rec)) res.ops = [...(res.ops ?? []), { type: 'delete', key: pendingPasswordPath(cur.rec.id) }];
    return res;
  }, { backoff: { baseMs: 1000, maxMs: 30_000 } });

  /** A step that keeps failing ends the operation with status `failed` (op cleared: the instance can be deleted or started). */
  const orFailed = async (cur: { rec: InstanceRecord; version: number }, attempt: number, step: () => Promise<StepResult<DbJobData>>): Promise<StepResult<DbJobData>> => {
    try {
      return await step();
    } catch (e) {
      if (attempt >= MAX_ATTEMPTS) return { done: true, ops: [setStatus(cur, 'failed', { lastError: e instanceof Error ? e.name : 'Error' })] };
      throw e;
    }
  };

  engine.registerKind<DbJobData>('db.stop', async (job, sc) => {
    const cur = await load(b, job.data);
    if (!cur) return { done: true };
    sc.progress(progress('stopping the server and locking the volume'));
    return orFailed(cur, sc.attempt, async () => {
      await h.bringDown(cur.rec);
      return { done: true, ops: [setStatus(cur, 'stopped')] };
    });
  }, { backoff: { baseMs: 1000, maxMs: 30_000 } });

  engine.registerKind<DbJobData>('db.reboot', async (job, sc) => {
    const cur = await load(b, job.data);
    if (!cur) return { done: true };
    if (job.step === 'up') {
      sc.progress(progress('unlocking the volume and starting the server'));
      return startOrReport(cur, sc.attempt, () => h.bringUp(cur.rec));
    }
    sc.progress(progress('stopping the server and locking the volume'));
    return orFailed(cur, sc.attempt, async () => {
      await h.bringDown(cur.rec);
      return { next: 'up' };
    });
  }, { backoff: { baseMs: 1000, maxMs: 30_000 } });

  engine.registerKind<DbJobData>('db.delete', async (job, sc) => {
    const cur = await load(b, job.data);
    if (!cur) return { done: true };
    sc.progress(progress('removing server, volume and key grant'));
    return orFailed(cur, sc.attempt, async () => {
      await h.destroy(cur.rec);
      return { done: true, ops: [{ type: 'delete', key: instancePath(cur.rec.id), expectVersion: cur.version }, { type: 'delete', key: pendingPasswordPath(cur.rec.id) }] };
    });
  }, { backoff: { baseMs: 1000, maxMs: 30_000 } });

  engine.registerKind<DbJobData>('db.rewrap', async (job, sc) => {
    const cur = await load(b, job.data);
    if (!cur || !cur.rec.storageEncrypted) return { done: true };
    sc.progress(progress('re-wrapping the volume key under the newest key material'));
    const wrapped = await h.rewrap(cur.rec);
    return { done: true, ops: [Barrier.putOp(instancePath(cur.rec.id), { ...cur.rec, wrappedVolumeKey: wrapped }, cur.version)] };
  }, { backoff: { baseMs: 5000, maxMs: 15 * 60_000 } });
}
