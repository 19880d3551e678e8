// The kms.rotate job: one new AUTOMATIC key material version, made current, committed with the
// job's step under two compare-and-swaps (the job record's and the key record's).
//
// Two triggers share the kind:
//   schedule  offered by the kms.rotation source when NextRotationDate arrives; dedupe key
//             kms.rotate/<keyId>/<due ISO>. Moves NextRotationDate by the key's period from the
//             scheduled date (not from now), and the due-index entry with it.
//   budget    created when a material version's usage budget is used up; dedupe key
//             kms.budget/<keyId>/<materialId>. Leaves NextRotationDate alone (like on-demand rotation).
//
// Exactly once: the dedupe key makes one job per due date (or per material); the engine records
// the step's ops at most once; and the key record's CAS makes a step computed from an old record
// (an on-demand rotation or a state change landed meanwhile) fail and run again from the new one.
// A key's currentMaterialId is one field naming one of its materials: never zero or two current.
import type { StepHandler, StepResult } from '../../jobs/kinds.ts';
import { sortableTime } from '../../jobs/model.ts';
import type { Op } from '../../storage/backend.ts';
import { Barrier } from '../../storage/barrier.ts';
import { keyPath } from '../keystore.ts';
import { newKeyMaterial } from '../material.ts';
import { KeyState, RotationType, type KeyRecord } from '../model.ts';
import { indexMoveOps, lifecycleIndexPaths, rotationDuePath } from './paths.ts';

export const KIND_ROTATE = 'kms.rotate';
export const DAY_MS = 86_400_000;

export interface RotateJobData {
  keyId: string;
  trigger: 'schedule' | 'budget';
  /** schedule: the NextRotationDate (ISO) this job rotates for. */
  due?: string;
  /** budget: the material version whose budget ran out. */
  materialId?: string;
  /** Set when the job finishes: what it did. */
  outcome?: 'rotated' | 'skipped';
  reason?: string;
  newMaterialId?: string;
  keyArn?: string;
  /** Epoch ms of the rotation. */
  at?: number;
}

export type Decision = { kind: 'rotate' } | { kind: 'skip'; reason: string } | { kind: 'wait'; until: number; reason: string };

/**
 * What a rotation job should do with this key record now. Pure, so the rules are tested alone.
 * `recheckMs`: how long to wait before looking again at a key that is disabled or pending deletion.
 */
export function rotationDecision(rec: KeyRecord, d: RotateJobData, now: number, recheckMs: number): Decision {
  if (d.trigger === 'schedule') {
    const next = rec.rotation.nextRotationDate;
    // DisableKeyRotation, a new period (EnableKeyRotation again), or this due date already rotated:
    // the job is for a schedule that no longer exists.
    if (!rec.rotation.enabled || next === null || d.due === undefined || sortableTime(next) !== d.due) return { kind: 'skip', reason: 'the rotation schedule changed' };
    // Never early: the rotation happens on its date, not before.
    if (now < next) return { kind: 'wait', until: next, reason: 'not due yet' };
  } else if (rec.currentMaterialId !== d.materialId) {
    return { kind: 'skip', reason: 'the material was already replaced' };
  }
  // AWS KMS: "While a KMS key is disabled, AWS KMS does not rotate it. ... When the KMS key is
  // re-enabled, if the key material is past its scheduled rotation date, AWS KMS rotates it
  // immediately." Same for a key pending deletion (deleted: the job ends; cancelled: it waits on).
  if (rec.state !== KeyState.Enabled) return { kind: 'wait', until: now + recheckMs, reason: `the key is ${rec.state}` };
  return { kind: 'rotate' };
}

/**
 * The next rotation date after a rotation for `due` performed at `now`: due + k x period, the first
 * such date after now. On time (now < due + period) that is due + period; a key rotated late (it
 * was disabled across its date) keeps its original calendar instead of rotating again at once.
 */
export function nextRotationAfter(due: number, periodDays: number, now: number): number {
  const period = periodDays * DAY_MS;
  const k = Math.max(1, Math.floor((now - due) / period) + 1);
  return due + k * period;
}

/**
 * The index entry that offered a skipped job, when the key record no longer has it (an entry written
 * by a re-index that raced with a rotation): removed, so it is not offered again on every scan.
 */
function staleEntryOps(d: RotateJobData, rec: KeyRecord | null): Op[] {
  if (d.trigger !== 'schedule' || d.due === undefined) return [];
  const path = rotationDuePath(Date.parse(d.due), d.keyId);
  return rec && lifecycleIndexPaths(rec).includes(path) ? [] : [{ type: 'delete', key: path }];
}

export function rotateHandler(opts: { recheckMs: number }): StepHandler<RotateJobData> {
  return async (job, ctx): Promise<StepResult<RotateJobData>> => {
    const d = job.data;
    const now = ctx.now().getTime();
    const got = await ctx.barrier.getJSON<KeyRecord>(keyPath(d.keyId));
    if (!got) return { done: true, ops: staleEntryOps(d, null), data: { ...d, outcome: 'skipped', reason: 'the key no longer exists' } };
    const rec = got.value;
    const decision = rotationDecision(rec, d, now, opts.recheckMs);
    if (decision.kind === 'skip') return { done: true, ops: staleEntryOps(d, rec), data: { ...d, outcome: 'skipped', reason: decision.reason } };
    if (decision.kind === 'wait') return { retryAt: new Date(decision.until), data: { ...d, reason: decision.reason } };

    const before = lifecycleIndexPaths(rec);
    const m = newKeyMaterial(now, RotationType.AUTOMATIC);
    rec.materials.push(m);
    rec.currentMaterialId = m.id;
    if (d.trigger === 'schedule') {
      // AWS KMS: rotation periods count from the scheduled date; a period in days is 86,400,000 ms.
      rec.rotation = { ...rec.rotation, nextRotationDate: nextRotationAfter(Date.parse(d.due!), rec.rotation.periodDays ?? 365, now) };
    }
    const ops = [Barrier.putOp(keyPath(d.keyId), rec, got.version), ...indexMoveOps(before, lifecycleIndexPaths(rec))];
    const { reason: _r, ...rest } = d;
    return { done: true, ops, data: { ...rest, outcome: 'rotated', newMaterialId: m.id, keyArn: rec.arn, at: now } };
  };
}
