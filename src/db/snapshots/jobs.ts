// The snapshot jobs (src/jobs), visible with their progress in `rekey jobs`:
//   db.snapshot.create  backup of the instance through the AEAD stream into <id>.partial -> <id>.rkst -> available
//   db.snapshot.copy    source file -> authenticated read -> sealed under the target's data key -> available
//   db.snapshot.delete  file, grant, dependent, record
//   db.restore          (an instance op) new volume under its own volume key; the snapshot extracted into it; server up
//   db.final-snapshot   (an instance op, DeleteDBInstance with FinalDBSnapshotIdentifier) waits for the
//                       snapshot, then hands the instance to db.delete
// A step that dies (SIGKILL, lease lost) runs again from its start: the partial file is removed and
// rewritten; the record says `available` only in the commit that follows a complete, renamed file.
import { rmSync } from 'node:fs';
import type { JobEngine } from '../../jobs/engine.ts';
import type { StepContext, StepResult } from '../../jobs/kinds.ts';
import type { Job } from '../../jobs/model.ts';
import { Barrier } from '../../storage/barrier.ts';
import { StreamAuthenticationFailed } from '../../crypto/stream-aead.ts';
import { randomUUID } from '../../crypto/index.ts';
import type { DbCore } from '../core.ts';
import type { DbJobData } from '../jobs.ts';
import { ADMIN_ROLE, instancePath, type InstanceRecord } from '../model.ts';
import { claimKey, releaseKey } from './keys.ts';
import { finalSnapshotPath, restoreSourcePath, snapshotFiles, snapshotPath, type SnapshotRecord } from './model.ts';
import type { SnapshotJobData, SnapshotOps } from './ops.ts';
import { copySnapshotFile, extractSnapshot, writeSnapshot, type Meter } from './run.ts';

export const SNAPSHOT_JOB_KINDS = ['db.snapshot.create', 'db.snapshot.copy', 'db.snapshot.delete', 'db.restore', 'db.final-snapshot'] as const;
const ATTEMPTS = 3;
const LONG = { backoff: { baseMs: 2000, maxMs: 60_000 }, stepTimeoutMs: 6 * 60 * 60_000 };

const MB = (n: number) => (n / 1e6).toFixed(n < 1e7 ? 1 : 0);

async function loadSnap(core: DbCore, d: SnapshotJobData): Promise<{ rec: SnapshotRecord; version: number } | null> {
  const got = await core.barrier.getJSON<SnapshotRecord>(snapshotPath(d.id));
  if (!got || got.value.snapshotResourceId !== d.snapshotResourceId || got.value.op?.id !== d.opId) return null;
  return { rec: got.value, version: got.version };
}

async function loadInstance(core: DbCore, d: DbJobData): Promise<{ rec: InstanceRecord; version: number } | null> {
  const got = await core.barrier.getJSON<InstanceRecord>(instancePath(d.id));
  if (!got || got.value.resourceId !== d.resourceId) return null;
  return { rec: got.value, version: got.version };
}

/** Progress to the job (every call) and to the record's PercentProgress (written one at a time, awaited before the final commit). */
function meterFor(ops: SnapshotOps, id: string, sc: StepContext, verb: string): { meter: Meter; settled: () => Promise<void> } {
  let chain = Promise.resolve();
  let lastPct = -1;
  const meter: Meter = (done, total, rate) => {
    const pct = total > 0 ? Math.min(99, Math.floor((done / total) * 100)) : 0;
    sc.progress({ done, total: Math.max(total, done), message: `${verb} ${MB(done)} MB${total > 0 ? ` of ~${MB(total)} MB` : ''}, ${MB(rate)} MB/s` });
    if (pct !== lastPct) {
      lastPct = pct;
      chain = chain.then(() => ops.update(id, (r) => ({ ...r, percentProgress: pct })).then(() => {}, () => {}));
    }
  };
  return { meter, settled: () => chain };
}

/** Final commit of a snapshot job's result (re-read: progress updates moved the version on). */
async function finish(core: DbCore, id: string, change: (r: SnapshotRecord) => SnapshotRecord): Promise<StepResult<SnapshotJobData>> {
  const got = await core.barrier.getJSON<SnapshotRecord>(snapshotPath(id));
  if (!got) return { done: true };
  return { done: true, ops: [Barrier.putOp(snapshotPath(id), change(got.value), got.version)] };
}

const ended = (r: SnapshotRecord, extra: Partial<SnapshotRecord>): SnapshotRecord => {
  const { op: _op, ...rest } = r;
  return { ...rest, ...extra };
};

export function registerSnapshotJobs(engine: JobEngine, core: DbCore, ops: SnapshotOps): void {
  const dbDir = core.cfg.dir;

  /** A failed step: retried, then the snapshot is `failed` (its partial file and key claim removed). */
  const failOr = async (rec: SnapshotRecord, attempt: number, e: unknown): Promise<StepResult<SnapshotJobData>> => {
    core.log(`db: snapshot ${rec.id}: ${e instanceof Error ? e.message : String(e)}`);
    if (attempt < ATTEMPTS && !(e instanceof StreamAuthenticationFailed)) throw e;
    rmSync(snapshotFiles(dbDir, rec).partial, { force: true });
    return finish(core, rec.id, (r) => ended(r, { status: 'failed', percentProgress: 0, lastError: e instanceof Error ? e.name : 'Error' }));
  };

  const withKey = async (rec: SnapshotRecord): Promise<SnapshotRecord> => {
    if (!rec.encrypted || rec.grantId) return rec;
    const grantId = await claimKey(core.keyDeps, rec);
    return ops.update(rec.id, (r) => ({ ...r, grantId }));
  };

  engine.registerKind<SnapshotJobData>('db.snapshot.create', async (job: Readonly<Job<SnapshotJobData>>, sc) => {
    const cur = await loadSnap(core, job.data);
    if (!cur || cur.rec.status !== 'creating') return { done: true };
    try {
      const inst = await core.barrier.getJSON<InstanceRecord>(instancePath(cur.rec.instanceId));
      if (!inst || inst.value.resourceId !== cur.rec.resourceId) throw new Error(`the instance ${cur.rec.instanceId} is gone`);
      const port = core.runtime.serverPort(inst.value);
      if (!port) throw new Error(`the instance ${inst.value.id} is not running`);
      const rec = await withKey(cur.rec);
      const m = meterFor(ops, rec.id, sc, 'backed up');
      const w = await writeSnapshot(core.keyDeps, dbDir, rec, {
        host: '127.0.0.1', port, user: ADMIN_ROLE, password: inst.value.adminPassword, dataDir: core.runtime.paths(inst.value).dataDir,
      }, m.meter, sc.signal);
      await m.settled();
      return finish(core, rec.id, (r) => ended(r, { status: 'available', percentProgress: 100, bytes: w.bytes, ...(w.wrappedKey ? { wrappedKey: w.wrappedKey } : {}) }));
    } catch (e) {
      return failOr(cur.rec, sc.attempt, e);
    }
  }, LONG);

  engine.registerKind<SnapshotJobData>('db.snapshot.copy', async (job, sc) => {
    const cur = await loadSnap(core, job.data);
    if (!cur || cur.rec.status !== 'copying') return { done: true };
    try {
      const src = await core.barrier.getJSON<SnapshotRecord>(snapshotPath(cur.rec.sourceId ?? ''));
      if (!src || src.value.arn !== cur.rec.sourceSnapshotArn || src.value.status !== 'available') throw new Error(`the source snapshot ${cur.rec.sourceId} is not available`);
      const rec = await withKey(cur.rec);
      const m = meterFor(ops, rec.id, sc, 'copied');
      const w = await copySnapshotFile(core.keyDeps, dbDir, src.value, rec, m.meter, sc.signal);
      await m.settled();
      return finish(core, rec.id, (r) => ended(r, { status: 'available', percentProgress: 100, bytes: w.bytes, ...(w.wrappedKey ? { wrappedKey: w.wrappedKey } : {}) }));
    } catch (e) {
      return failOr(cur.rec, sc.attempt, e);
    }
  }, LONG);

  engine.registerKind<SnapshotJobData>('db.snapshot.delete', async (job, sc) => {
    const cur = await loadSnap(core, job.data);
    if (!cur) return { done: true };
    sc.progress({ done: 0, total: 1, message: 'removing the snapshot file and key grant' });
    const f = snapshotFiles(dbDir, cur.rec);
    rmSync(f.file, { force: true });
    rmSync(f.partial, { force: true });
    await releaseKey(core.keyDeps, cur.rec);
    return { done: true, ops: [{ type: 'delete', key: snapshotPath(cur.rec.id), expectVersion: cur.version }] };
  }, { backoff: { baseMs: 1000, maxMs: 30_000 } });

  engine.registerKind<DbJobData>('db.restore', async (job, sc) => {
    const cur = await loadInstance(core, job.data);
    if (!cur || cur.rec.op?.id !== job.data.opId) return { done: true };
    const src = await core.barrier.getJSON<{ snapshotId: string; snapshotResourceId: string }>(restoreSourcePath(cur.rec.id));
    const snap = src ? await core.barrier.getJSON<SnapshotRecord>(snapshotPath(src.value.snapshotId)) : null;
    const setStatus = (status: InstanceRecord['status'], extra: Partial<InstanceRecord> = {}): StepResult<DbJobData> => {
      const { op: _op, ...rest } = cur.rec;
      return { done: true, ops: [Barrier.putOp(instancePath(cur.rec.id), { ...rest, ...extra, status }, cur.version), { type: 'delete', key: restoreSourcePath(cur.rec.id) }] };
    };
    if (!snap || snap.value.snapshotResourceId !== src?.value.snapshotResourceId) return setStatus('failed', { lastError: 'DBSnapshotNotFound' });
    sc.progress({ done: 0, total: 1, message: `restoring from snapshot ${snap.value.id}: new volume, extracting, recovery` });
    const user = core.user;
    try {
      await core.provision(cur.rec, null, (dataDir) => extractSnapshot(core.keyDeps, dbDir, snap.value, dataDir, typeof user === 'string' ? {} : { ...(user.uid !== undefined ? { uid: user.uid, gid: user.gid! } : {}) }));
    } catch (e) {
      core.log(`db: restore of ${cur.rec.id}: ${e instanceof Error ? e.message : String(e)}`);
      if (sc.attempt < ATTEMPTS && !(e instanceof StreamAuthenticationFailed)) throw e;
      await core.runtime.bringDown(cur.rec).catch(() => {});
      return setStatus('failed', { lastError: e instanceof Error ? e.name : 'Error' });
    }
    return setStatus('available');
  }, LONG);

  engine.registerKind<DbJobData>('db.final-snapshot', async (job, sc) => {
    const cur = await loadInstance(core, job.data);
    if (cur && job.step === 'delete') {
      // the record now carries the db.delete op (committed with the previous step)
      if (cur.rec.op?.kind === 'db.delete') await core.enqueue(cur.rec);
      return { done: true };
    }
    if (!cur || cur.rec.op?.id !== job.data.opId) return { done: true };
    const final = await core.barrier.getJSON<{ snapshotId: string }>(finalSnapshotPath(cur.rec.id));
    const snap = final ? await core.barrier.getJSON<SnapshotRecord>(snapshotPath(final.value.snapshotId)) : null;
    if (snap?.value.status === 'creating') {
      await ops.enqueue(snap.value);
      sc.progress({ done: snap.value.percentProgress, total: 100, message: `final snapshot ${snap.value.id}: ${snap.value.percentProgress}%` });
      return { retryAt: new Date(sc.now().getTime() + 1000) };
    }
    const cleared = { type: 'delete' as const, key: finalSnapshotPath(cur.rec.id) };
    if (snap?.value.status !== 'available') {
      // RDS keeps the instance when its final snapshot fails
      const { op: _op, ...rest } = cur.rec;
      return { done: true, ops: [Barrier.putOp(instancePath(cur.rec.id), { ...rest, status: 'available', desired: 'available', lastError: 'FinalSnapshotFailed' }, cur.version), cleared] };
    }
    const next: InstanceRecord = { ...cur.rec, op: { kind: 'db.delete', id: randomUUID() } };
    return { next: 'delete', data: job.data, ops: [Barrier.putOp(instancePath(cur.rec.id), next, cur.version), cleared] };
  }, { backoff: { baseMs: 1000, maxMs: 30_000 } });
}
