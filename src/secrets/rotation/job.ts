// The secret-rotation job (kind secrets.rotate) and the deletion job (secrets.delete).
//
// secrets.rotate runs AWS's four rotation steps as separate committed job steps:
//   [schedule ->] createSecret -> setSecret -> testSecret -> finishSecret
// - createSecret stores the AWSPENDING version under the job's version id (= ClientRequestToken),
//   so running it again finds the version and does nothing.
// - A strategy with invalidatesCurrent marks the secret `switching` (committed) right before
//   setSecret; finishSecret clears it in the same write that moves AWSCURRENT.
// - finishSecret moves AWSCURRENT to the pending version (AWSPREVIOUS to the old current) and
//   removes AWSPENDING, as AWS's finishSecret does, then lets the strategy clean up.
// - A failing step throws: AWSCURRENT is untouched and the engine retries the step with backoff.
// `schedule` (scheduled rotations) starts a rotation only inside its window (RotationRules.Duration).
import { randomUUID, zeroize } from '../../crypto/index.ts';
import type { JobEngine } from '../../jobs/engine.ts';
import type { StepResult } from '../../jobs/kinds.ts';
import type { Job } from '../../jobs/model.ts';
import type { DueItem, ScheduleSource } from '../../jobs/scheduler.ts';
import type { SecretsContext } from '../context.ts';
import { moveStage } from '../labels.ts';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, DELETION_DUE_PREFIX, ROTATION_DUE_PREFIX, versionWithStage, type SecretRecord } from '../model.ts';
import { putVersion } from '../operations/put-secret-value.ts';
import { purge } from '../operations/delete-secret.ts';
import { randomPassword, ROTATION_PASSWORD } from '../password.ts';
import type { DbSecret, StepContext } from '../strategy.ts';
import type { RotationRegistry, Rotator } from './registry.ts';
import { nextRotation, windowMs } from './schedule.ts';
import { dueEntries } from '../../kms/lifecycle/sources.ts';

export const KIND_ROTATE = 'secrets.rotate';
export const KIND_DELETE = 'secrets.delete';
export const ROTATION_MAX_ATTEMPTS = 50;

export interface RotateJobData {
  /** Secret ARN (a secret deleted and created again under the same name is another secret). */
  arn: string;
  name: string;
  versionId: string;
  lambdaArn: string;
  /** Scheduled rotations: the due time that created the job. */
  due?: number;
}

export interface DeleteJobData { name: string; at: number }

/**
 * Where the database of a secret really is, when that differs from what the secret says: a proxy
 * target serving the secret was switched to another server (src/server/proxy.ts answers from the
 * stored cutover upstream, or this node's live one; docs/PROXY.md, "Rotation after a cutover").
 * `via` names the target, for the job's progress. Undefined: use the secret's host and port.
 */
export type LiveEndpoint = (secretArn: string) => Promise<{ host: string; port: number; via: string } | undefined>;

export const rotateDedupeKey = (arn: string, versionId: string): string => `secrets.rotate/${arn}/${versionId}`;

export class SecretRotation {
  private engine: JobEngine | null = null;
  private liveEndpoint: LiveEndpoint | undefined;

  constructor(private readonly ctx: SecretsContext, readonly registry: RotationRegistry) {}

  register(engine: JobEngine): void {
    this.engine = engine;
    engine.registerKind<RotateJobData>(KIND_ROTATE, (job, sc) => this.step(job, sc.signal, (m) => sc.progress({ done: 0, total: 4, message: m })), { backoff: { baseMs: 2_000, maxMs: 15 * 60_000 } });
    engine.registerKind<DeleteJobData>(KIND_DELETE, async (job) => {
      await purge(this.ctx, job.data.name, true);
      return { done: true };
    });
    engine.addSource(this.rotationSource());
    engine.addSource(this.deletionSource());
  }

  /**
   * Built-in strategies connect to the endpoint this returns instead of the secret's host and port
   * (AWSCURRENT, AWSPENDING, AWSPREVIOUS and the master alike), and a new AWSPENDING version names it:
   * a rotation after a proxy cutover changes the password on the server the proxy now logs in to.
   */
  setLiveEndpoint(fn: LiveEndpoint | undefined): void {
    this.liveEndpoint = fn;
  }

  /** Enqueues the rotation of `rec` to version `versionId` (idempotent). */
  async enqueue(rec: SecretRecord, versionId: string, lambdaArn: string): Promise<string> {
    if (!this.engine) throw new Error('secret rotation is not registered with a job engine');
    const { job } = await this.engine.enqueue<RotateJobData>({
      kind: KIND_ROTATE, target: rec.arn, step: 'createSecret', data: { arn: rec.arn, name: rec.name, versionId, lambdaArn },
      dedupeKey: rotateDedupeKey(rec.arn, versionId), maxAttempts: ROTATION_MAX_ATTEMPTS,
    });
    return job.id;
  }

  /** Whether a rotation job is still queued or running (one rotation per secret at a time). */
  async isActive(jobId: string): Promise<boolean> {
    const job = await this.engine?.get(jobId);
    return job !== null && job !== undefined && (job.state === 'queued' || job.state === 'running');
  }

  async cancel(jobId: string): Promise<void> {
    const job = await this.engine?.get(jobId);
    if (job && (job.state === 'queued' || job.state === 'running')) await this.engine!.cancel(jobId);
  }

  // Sources offer only entries already due, so their jobs may run at once (no runAt).
  private rotationSource(): ScheduleSource {
    const barrier = this.ctx.deps.barrier;
    return {
      name: 'secrets.rotation',
      async *due({ now }): AsyncGenerator<DueItem<RotateJobData>> {
        for await (const e of dueEntries(barrier, ROTATION_DUE_PREFIX, now)) {
          const at = Date.parse(e.at);
          yield {
            kind: KIND_ROTATE, target: e.keyId, step: 'schedule', data: { arn: '', name: e.keyId, versionId: '', lambdaArn: '', due: at },
            dedupeKey: `secrets.schedule/${e.keyId}/${e.at}`, maxAttempts: ROTATION_MAX_ATTEMPTS,
          };
        }
      },
    };
  }

  private deletionSource(): ScheduleSource {
    const barrier = this.ctx.deps.barrier;
    return {
      name: 'secrets.deletion',
      async *due({ now }): AsyncGenerator<DueItem<DeleteJobData>> {
        for await (const e of dueEntries(barrier, DELETION_DUE_PREFIX, now)) {
          yield { kind: KIND_DELETE, target: e.keyId, data: { name: e.keyId, at: Date.parse(e.at) }, dedupeKey: `secrets.delete/${e.keyId}/${e.at}`, maxAttempts: 100 };
        }
      },
    };
  }

  /**
   * Job events (JobEngine worker.onEvent): a rotation that failed for good or was cancelled must not
   * leave the secret switching (reads of AWSCURRENT would wait on every call); AWSPENDING stays for
   * an operator to inspect (rekey jobs retry ID resumes the rotation).
   */
  onJobEvent(e: { type: string; job: Job }): void {
    if (e.job.kind !== KIND_ROTATE || e.type !== 'failed') return;
    const d = e.job.data as RotateJobData;
    if (!d.arn) return;
    void this.ctx.retry(async () => {
      const got = await this.load(d);
      if (!got || !got.rec.switching) return;
      const before = structuredClone(got.rec);
      delete got.rec.switching;
      await this.ctx.commit(got.rec, got.rec.name, got.version, before);
    }).catch(() => {});
  }

  // ---- the steps

  private async load(d: RotateJobData): Promise<{ rec: SecretRecord; version: number } | null> {
    const got = await this.ctx.byName(d.name);
    if (!got || got.rec.arn !== d.arn || got.rec.deleted !== undefined) return null;
    return got;
  }

  private async json(rec: SecretRecord, stage: string): Promise<DbSecret | undefined> {
    const v = versionWithStage(rec, stage);
    if (!v) return undefined;
    const p = await this.ctx.decrypt(rec, v, null);
    try {
      return JSON.parse(p.toString('utf8')) as DbSecret;
    } catch {
      throw new Error(`the ${stage} value of ${rec.arn} is not JSON`);
    } finally {
      zeroize(p);
    }
  }

  private async stepContext(rec: SecretRecord, d: RotateJobData, signal: AbortSignal, progress: (m: string) => void, needsMaster: boolean): Promise<StepContext> {
    const current = await this.json(rec, AWSCURRENT);
    if (!current) throw new Error(`${rec.arn} has no AWSCURRENT version`);
    const pv = rec.versions[d.versionId];
    if (!pv) throw new Error(`${rec.arn} has no version ${d.versionId}`);
    const pendingBuf = await this.ctx.decrypt(rec, pv, null);
    const pending = JSON.parse(pendingBuf.toString('utf8')) as DbSecret;
    zeroize(pendingBuf);
    const previous = await this.json(rec, AWSPREVIOUS);
    // alternating users need the master; a single-user secret that names one lets the master change the password
    let master: DbSecret | undefined;
    if (needsMaster && typeof current.masterarn !== 'string') throw new Error(`${rec.arn} names no masterarn`);
    if (typeof current.masterarn === 'string') {
      const m = await this.ctx.find(current.masterarn);
      if (!m) throw new Error(`the master secret ${current.masterarn} does not exist`);
      master = await this.json(m.rec, AWSCURRENT);
      if (!master && needsMaster) throw new Error(`the master secret ${current.masterarn} has no AWSCURRENT version`);
    }
    const ep = await this.liveEndpoint?.(rec.arn);
    if (ep) {
      progress(`connecting to ${ep.host}:${ep.port}, the upstream of proxy target ${ep.via} (the secret names ${current.host}:${current.port ?? 'default port'})`);
      const at = (v: DbSecret): DbSecret => ({ ...v, host: ep.host, port: ep.port });
      return { secretArn: rec.arn, current: at(current), pending: at(pending), signal, progress, ...(previous ? { previous: at(previous) } : {}), ...(master ? { master: at(master) } : {}) };
    }
    return { secretArn: rec.arn, current, pending, signal, progress, ...(previous ? { previous } : {}), ...(master ? { master } : {}) };
  }

  private async step(job: Readonly<Job<RotateJobData>>, signal: AbortSignal, progress: (m: string) => void): Promise<StepResult<RotateJobData>> {
    const d = job.data;
    if (job.step === 'schedule') return this.scheduled(d);
    const got = await this.load(d);
    if (!got) return { done: true, progress: { done: 4, total: 4, message: 'the secret no longer exists or is scheduled for deletion' } };
    const rot: Rotator = await this.registry.resolve(d.lambdaArn);
    const event = { SecretId: d.arn, ClientRequestToken: d.versionId };
    const { rec } = got;
    switch (job.step) {
      case 'createSecret': {
        if (rot.kind === 'webhook') await this.registry.webhooks.invoke(rot.webhook, { Step: 'createSecret', ...event }, signal);
        const fresh = (await this.load(d))?.rec;
        if (fresh && !fresh.versions[d.versionId]) await this.createPending(fresh, d, rot);
        return { next: 'setSecret', progress: { done: 1, total: 4, message: 'createSecret done' } };
      }
      case 'setSecret': {
        if (rot.kind === 'webhook') await this.registry.webhooks.invoke(rot.webhook, { Step: 'setSecret', ...event }, signal);
        else {
          if (rot.strategy.invalidatesCurrent) await this.markSwitching(d);
          await rot.strategy.setSecret(await this.stepContext(rec, d, signal, progress, rot.strategy.needsMaster));
        }
        return { next: 'testSecret', progress: { done: 2, total: 4, message: 'setSecret done' } };
      }
      case 'testSecret': {
        if (rot.kind === 'webhook') await this.registry.webhooks.invoke(rot.webhook, { Step: 'testSecret', ...event }, signal);
        else await rot.strategy.testSecret(await this.stepContext(rec, d, signal, progress, rot.strategy.needsMaster));
        return { next: 'finishSecret', progress: { done: 3, total: 4, message: 'testSecret done' } };
      }
      case 'finishSecret': {
        if (rot.kind === 'webhook') await this.registry.webhooks.invoke(rot.webhook, { Step: 'finishSecret', ...event }, signal);
        const finished = await this.finish(d, job.id);
        if (finished && rot.kind === 'strategy' && rot.strategy.finishSecret) {
          const after = await this.load(d);
          if (after) await rot.strategy.finishSecret(await this.stepContext(after.rec, d, signal, progress, rot.strategy.needsMaster));
        }
        return { done: true, progress: { done: 4, total: 4, message: 'rotation finished' } };
      }
      default:
        throw new Error(`unknown step ${job.step}`);
    }
  }

  /** createSecret: the AWSPENDING version from AWSCURRENT with a new password. */
  private async createPending(rec: SecretRecord, d: RotateJobData, rot: Rotator): Promise<void> {
    const password = randomPassword(ROTATION_PASSWORD);
    let text: string;
    if (rot.kind === 'strategy') {
      const current = await this.json(rec, AWSCURRENT);
      if (!current) throw new Error(`${rec.arn} has no AWSCURRENT version`);
      const pending = rot.strategy.createPending(current, await this.json(rec, AWSPREVIOUS), password);
      // after a proxy cutover the new version names the server the proxy logs in to
      const ep = await this.liveEndpoint?.(rec.arn);
      text = JSON.stringify(ep ? { ...pending, host: ep.host, port: ep.port } : pending);
    } else {
      // a webhook that did not create the pending version itself gets one: the current JSON with a
      // new "password", or a new password as the whole value
      const cur = versionWithStage(rec, AWSCURRENT);
      let obj: unknown = undefined;
      if (cur && cur.kind === 'string') {
        const p = await this.ctx.decrypt(rec, cur, null);
        try { obj = JSON.parse(p.toString('utf8')); } catch { obj = undefined; } finally { zeroize(p); }
      }
      text = obj && typeof obj === 'object' && !Array.isArray(obj) && 'password' in obj ? JSON.stringify({ ...obj, password }) : password;
    }
    await putVersion(this.ctx, d.arn, { kind: 'string', bytes: Buffer.from(text, 'utf8') }, d.versionId, [AWSPENDING], null, '');
  }

  private async markSwitching(d: RotateJobData): Promise<void> {
    await this.ctx.retry(async () => {
      const got = await this.load(d);
      if (!got || got.rec.switching) return;
      const before = structuredClone(got.rec);
      got.rec.switching = true;
      await this.ctx.commit(got.rec, got.rec.name, got.version, before);
    });
  }

  /**
   * finishSecret: AWSCURRENT to the pending version (AWSPREVIOUS follows), AWSPENDING removed, switch
   * over. Returns whether the strategy's clean-up may run.
   * An earlier run of this step may already have committed: the step runs again when the strategy's
   * clean-up failed or the node died before recording it, and by then RotateSecret may have started
   * (and finished) a newer rotation, since the commit below stops naming this job. Such a run
   * changes nothing: moving AWSCURRENT back, or clearing a newer rotation's switching mark, would
   * hand clients a password the database no longer accepts. Its clean-up runs again only while its
   * version is still AWSCURRENT and no newer rotation is in flight.
   */
  private async finish(d: RotateJobData, jobId: string): Promise<boolean> {
    return this.ctx.retry(async () => {
      const got = await this.load(d);
      if (!got) return false;
      const { rec, version } = got;
      const before = structuredClone(rec);
      const v = rec.versions[d.versionId];
      if (!v) throw new Error(`${rec.arn} has no version ${d.versionId}`);
      // Committed before: the secret no longer names this job and the version is no longer pending.
      if (rec.rotation?.jobId !== jobId && !v.stages.includes(AWSPENDING)) return v.stages.includes(AWSCURRENT) && rec.rotation?.jobId === undefined;
      if (!v.stages.includes(AWSCURRENT)) moveStage(rec, AWSCURRENT, d.versionId);
      const i = v.stages.indexOf(AWSPENDING);
      if (i >= 0) v.stages.splice(i, 1);
      delete rec.switching;
      const now = this.ctx.now();
      const r = rec.rotation ?? { enabled: false };
      r.lastRotated = now;
      if (r.jobId === jobId) {
        delete r.jobId;
        delete r.pendingVersion;
      }
      if (r.enabled) {
        const next = nextRotation(r.rules, now);
        if (next !== undefined) r.next = next;
      }
      rec.rotation = r;
      rec.lastChanged = now;
      await this.ctx.commit(rec, rec.name, version, before);
      return true;
    });
  }

  /** A scheduled start: rotate when still inside the window, otherwise move to the next occurrence. */
  private async scheduled(d: RotateJobData): Promise<StepResult<RotateJobData>> {
    const got = await this.ctx.byName(d.name);
    const r = got?.rec.rotation;
    if (!got || !r?.enabled || !r.lambdaArn || r.next !== d.due || got.rec.deleted !== undefined) return { done: true };
    const { rec, version } = got;
    const now = this.ctx.now();
    const before = structuredClone(rec);
    if (now > d.due! + windowMs(r.rules, d.due!) || (r.jobId !== undefined && (await this.isActive(r.jobId)))) {
      // missed the window (or a rotation is still running): the next occurrence
      const next = nextRotation(r.rules, now);
      if (next !== undefined) r.next = next;
      else delete r.next;
      await this.ctx.commit(rec, rec.name, version, before);
      return { done: true, progress: { done: 0, total: 0, message: 'rotation window missed; rescheduled' } };
    }
    const versionId = randomUUID();
    const jobId = await this.enqueue(rec, versionId, r.lambdaArn);
    r.jobId = jobId;
    r.pendingVersion = versionId;
    const next = nextRotation(r.rules, now);
    if (next !== undefined) r.next = next;
    await this.ctx.commit(rec, rec.name, version, before);
    return { done: true, progress: { done: 0, total: 0, message: `rotation job ${jobId} started` } };
  }
}
