// The kms.delete job: at DeletionDate the key record (with every key material version), its
// aliases, its grants, its due-index entries, usage counters and dependents registrations are
// removed in the one transaction that records the job's step.
//
// AWS KMS: "When the waiting period ends, AWS KMS deletes the KMS key, its aliases, and all related
// AWS KMS metadata." After that the key is gone: every operation naming it answers
// NotFoundException, as in AWS.
//
// Offered by the kms.deletion source from kms/deletion-due/ with the dedupe key
// kms.delete/<keyId>/<deletionDate ISO>. CancelKeyDeletion removes the index entry and clears the
// key's DeletionDate in one write: a job created before the cancel finds the key no longer pending
// deletion for that date and ends without changing anything. Scheduling deletion again gives a new
// DeletionDate, so a new dedupe key and a new job.
import type { StepHandler, StepResult } from '../../jobs/kinds.ts';
import { sortableTime } from '../../jobs/model.ts';
import type { Op } from '../../storage/backend.ts';
import type { Barrier } from '../../storage/barrier.ts';
import { grantsPath, retiringPath } from '../grants/model.ts';
import { aliasPath, keyPath } from '../keystore.ts';
import { KeyState, type AliasRecord, type KeyRecord } from '../model.ts';
import { deletionDuePath, dependentsPrefix, lifecycleIndexPaths, usagePrefix } from './paths.ts';

export const KIND_DELETE = 'kms.delete';

export interface DeleteJobData {
  keyId: string;
  /** The DeletionDate (ISO) this job deletes the key at. */
  deletionDate: string;
  outcome?: 'deleted' | 'skipped';
  reason?: string;
  keyArn?: string;
  /** Aliases removed with the key. */
  aliases?: string[];
  at?: number;
}

/** Deletes every entry under `prefix` (usage counters, dependents: a handful per key). */
async function deleteUnder(barrier: Barrier, prefix: string): Promise<Op[]> {
  const keys = await barrier.list(prefix);
  return keys.map((key): Op => ({ type: 'delete', key }));
}

/** The key's grants and their retiring-principal index entries (src/kms/grants/model.ts). */
async function grantOps(barrier: Barrier, keyId: string): Promise<Op[]> {
  const set = await barrier.getJSON<{ grants?: { grantId: string; retiringPrincipal?: string }[] }>(grantsPath(keyId));
  if (!set) return [];
  const ops: Op[] = [{ type: 'delete', key: grantsPath(keyId), expectVersion: set.version }];
  for (const g of set.value.grants ?? []) if (g.retiringPrincipal) ops.push({ type: 'delete', key: retiringPath(g.retiringPrincipal, g.grantId) });
  return ops;
}

export function deleteHandler(): StepHandler<DeleteJobData> {
  return async (job, ctx): Promise<StepResult<DeleteJobData>> => {
    const d = job.data;
    const got = await ctx.barrier.getJSON<KeyRecord>(keyPath(d.keyId));
    // The entry that offered this job, when the record no longer has it, goes too (see rotate.ts).
    const entry = deletionDuePath(Date.parse(d.deletionDate), d.keyId);
    if (!got) return { done: true, ops: [{ type: 'delete', key: entry }], data: { ...d, outcome: 'skipped', reason: 'the key no longer exists' } };
    const rec = got.value;
    if (rec.state !== KeyState.PendingDeletion || rec.deletionDate === null || sortableTime(rec.deletionDate) !== d.deletionDate) {
      const ops: Op[] = lifecycleIndexPaths(rec).includes(entry) ? [] : [{ type: 'delete', key: entry }];
      return { done: true, ops, data: { ...d, outcome: 'skipped', reason: 'the deletion was cancelled' } };
    }
    const now = ctx.now().getTime();
    // AWS KMS: the key is deleted when the waiting period ends; not one moment before.
    if (now < rec.deletionDate) return { retryAt: new Date(rec.deletionDate) };

    // The key record's CAS guards everything: a CancelKeyDeletion, an alias change (which rewrites
    // the key's alias list) or anything else that lands first makes this step fail and run again.
    const ops: Op[] = [{ type: 'delete', key: keyPath(d.keyId), expectVersion: got.version }];
    const aliases: string[] = [];
    for (const name of rec.aliases) {
      const a = await ctx.barrier.getJSON<AliasRecord>(aliasPath(name));
      if (a && a.value.targetKeyId === d.keyId) {
        ops.push({ type: 'delete', key: aliasPath(name), expectVersion: a.version });
        aliases.push(name);
      }
    }
    for (const p of lifecycleIndexPaths(rec)) ops.push({ type: 'delete', key: p });
    ops.push(...await grantOps(ctx.barrier, d.keyId));
    ops.push(...await deleteUnder(ctx.barrier, usagePrefix(d.keyId)));
    ops.push(...await deleteUnder(ctx.barrier, dependentsPrefix(d.keyId)));
    return { done: true, ops, data: { ...d, outcome: 'deleted', keyArn: rec.arn, aliases, at: now } };
  };
}
