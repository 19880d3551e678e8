// Schedule sources for the job engine (docs/JOBS.md, "State-based" sources): they read the KMS due
// indexes from their start up to now and offer one job per due entry. They ignore the scheduler's
// `since`: an entry stays in the index until its job moves or removes it, so it is offered on every
// scan until then, and the dedupe key makes that one job.
import type { DueItem, ScheduleSource } from '../../jobs/scheduler.ts';
import { sortableTime } from '../../jobs/model.ts';
import type { Barrier } from '../../storage/barrier.ts';
import { KIND_DELETE, type DeleteJobData } from './delete.ts';
import { DELETION_DUE_PREFIX, ROTATION_DUE_PREFIX, parseIndexKey, type IndexEntry } from './paths.ts';
import { KIND_ROTATE, type RotateJobData } from './rotate.ts';

/** A rotation or deletion job that keeps failing is retried for days (backoff capped at 1 h), then stays failed for an operator. */
export const KMS_JOB_MAX_ATTEMPTS = 100;
const PAGE = 500;
const FIRST_PAGE = 16;

/**
 * Entries of one due index at or before `now`, in time order. Pages start small and double (up to
 * `page`): a scan that finds little due reads little of an index that holds every key.
 */
export async function* dueEntries(barrier: Barrier, prefix: string, now: Date, page = PAGE): AsyncGenerator<IndexEntry> {
  const bound = sortableTime(now.getTime());
  let after: string | undefined;
  for (let size = Math.min(FIRST_PAGE, page); ; size = Math.min(size * 2, page)) {
    const keys = await barrier.list(prefix, { ...(after !== undefined ? { after } : {}), limit: size });
    for (const key of keys) {
      const e = parseIndexKey(prefix, key);
      if (!e) continue;
      if (e.at > bound) return;
      yield e;
    }
    if (keys.length < size) return;
    after = keys[keys.length - 1]!;
  }
}

export const rotationDedupeKey = (keyId: string, due: string): string => `kms.rotate/${keyId}/${due}`;
export const deletionDedupeKey = (keyId: string, deletionDate: string): string => `kms.delete/${keyId}/${deletionDate}`;

/** kms.rotation: keys whose NextRotationDate has arrived. */
export function rotationSource(barrier: Barrier, page = PAGE): ScheduleSource {
  return {
    name: 'kms.rotation',
    async *due({ now }): AsyncGenerator<DueItem<RotateJobData>> {
      for await (const e of dueEntries(barrier, ROTATION_DUE_PREFIX, now, page)) {
        yield {
          kind: KIND_ROTATE, target: e.keyId, data: { keyId: e.keyId, trigger: 'schedule', due: e.at },
          dedupeKey: rotationDedupeKey(e.keyId, e.at), runAt: new Date(e.at), maxAttempts: KMS_JOB_MAX_ATTEMPTS,
        };
      }
    },
  };
}

/** kms.deletion: keys whose DeletionDate has arrived. */
export function deletionSource(barrier: Barrier, page = PAGE): ScheduleSource {
  return {
    name: 'kms.deletion',
    async *due({ now }): AsyncGenerator<DueItem<DeleteJobData>> {
      for await (const e of dueEntries(barrier, DELETION_DUE_PREFIX, now, page)) {
        yield {
          kind: KIND_DELETE, target: e.keyId, data: { keyId: e.keyId, deletionDate: e.at },
          dedupeKey: deletionDedupeKey(e.keyId, e.at), runAt: new Date(e.at), maxAttempts: KMS_JOB_MAX_ATTEMPTS,
        };
      }
    },
  };
}
