// The scheduler turns "something is due" into jobs. It knows nothing about keys or secrets: each
// domain registers a ScheduleSource that says what is due, and the scheduler enqueues one job per
// due item under the item's dedupe key. Because the dedupe entry is created with CAS in the same
// transaction as the job, a source may offer the same item on every scan, from every node, and
// exactly one job exists for it.
//
// The intended KMS rotation source (wired in the KMS module, not here):
//   name: 'kms.rotation'
//   due(): list the KMS due index kms/rotation-due/<nextRotationDate ISO>/<keyId> up to now and
//          yield { kind: 'kms.rotate', target: keyId, data: { keyId, due },
//                  dedupeKey: `kms.rotate/${keyId}/${due}` }
// and the rotation job's last step moves the key's nextRotationDate (and its due-index entry) in
// the same transaction that records the step, so the key stops being offered once rotated.
import type { Barrier } from '../storage/barrier.ts';
import { CasConflict } from '../storage/backend.ts';
import { type Clock, SystemClock, SECOND } from './clock.ts';
import { defaultRandom } from './kinds.ts';
import { PollLoop } from './loop.ts';
import { PREFIX, checkKind, sortableTime } from './model.ts';
import type { Schedule } from './schedule.ts';
import { occurrencesBetween, parseSchedule } from './schedule.ts';
import type { JobStore } from './store.ts';

export interface DueItem<D = unknown> {
  kind: string;
  target: string;
  data: D;
  /** Names this occurrence: the same key offered again (by any node, in any scan) creates nothing. */
  dedupeKey: string;
  step?: string;
  /** Earliest run time (default: now). */
  runAt?: Date;
  maxAttempts?: number;
}

export interface ScanWindow {
  /** When this source was last scanned to completion (by any node), or null the first time. */
  since: Date | null;
  now: Date;
}

export interface ScheduleSource {
  /** Stable name (it keys the stored cursor): lowercase letters, digits, '.', '_' or '-'. */
  readonly name: string;
  /**
   * What is due at `now`. State-based sources (KMS: keys whose nextRotationDate <= now) ignore
   * `since` and offer everything still due; time-based ones (cron) offer occurrences in (since, now].
   * Offering an item twice is harmless; failing to offer one is not, so when unsure, offer.
   */
  due(window: ScanWindow): AsyncIterable<DueItem> | Iterable<DueItem>;
}

export interface ScanSummary {
  offered: number;
  created: number;
  /** Sources whose scan threw, plus items that could not be enqueued (the source's cursor is then
   *  not advanced, so the next scan offers the same window again). */
  errors: number;
}

export interface SchedulerOptions {
  clock?: Clock;
  /** Real-time interval between scans in start(). Default 5 s. */
  scanMs?: number;
  onError?: (e: unknown, context: string) => void;
  /** Called for each job actually created. */
  onCreated?: (jobId: string, item: DueItem) => void;
}

interface Cursor {
  lastScanAt: number;
}

export class Scheduler {
  private readonly sources = new Map<string, ScheduleSource>();
  private readonly clock: Clock;
  private readonly loop: PollLoop;

  constructor(private readonly store: JobStore, private readonly opts: SchedulerOptions = {}) {
    this.clock = opts.clock ?? new SystemClock();
    this.loop = new PollLoop(() => this.scanOnce(), opts.scanMs ?? 5 * SECOND, defaultRandom, (e) => opts.onError?.(e, 'schedule scan'));
  }

  addSource(source: ScheduleSource): void {
    checkKind(source.name);
    if (this.sources.has(source.name)) throw new RangeError(`schedule source ${source.name} is already registered`);
    this.sources.set(source.name, source);
  }

  /** Offers every source's due items once. Deterministic with a ManualClock. */
  async scanOnce(now: Date = this.clock.now()): Promise<ScanSummary> {
    const sum: ScanSummary = { offered: 0, created: 0, errors: 0 };
    for (const source of this.sources.values()) {
      try {
        await this.scanSource(source, now, sum);
      } catch (e) {
        sum.errors++;
        this.opts.onError?.(e, `schedule source ${source.name}`);
      }
    }
    return sum;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async scanSource(source: ScheduleSource, now: Date, sum: ScanSummary): Promise<void> {
    const barrier: Barrier = this.store.barrier;
    const path = PREFIX.sched + source.name;
    const cur = await barrier.getJSON<Cursor>(path);
    const since = cur ? new Date(cur.value.lastScanAt) : null;
    let failed = 0;
    for await (const item of source.due({ since, now })) {
      sum.offered++;
      try {
        const r = await this.store.enqueue({
          kind: item.kind, target: item.target, data: item.data, dedupeKey: item.dedupeKey,
          ...(item.step !== undefined ? { step: item.step } : {}),
          ...(item.runAt !== undefined ? { runAt: item.runAt } : {}),
          ...(item.maxAttempts !== undefined ? { maxAttempts: item.maxAttempts } : {}),
        });
        if (r.created) {
          sum.created++;
          this.opts.onCreated?.(r.job.id, item);
        }
      } catch (e) {
        // One bad item (a malformed dedupe key, a storage hiccup) must not hold up the others:
        // one key that cannot be enqueued must not stop every other key from rotating.
        failed++;
        sum.errors++;
        this.opts.onError?.(e, `schedule source ${source.name}: item ${String(item.dedupeKey).slice(0, 200)}`);
      }
    }
    // Advance the cursor only after every item was enqueued: a crash before this line, or an item
    // that failed, makes the next scan offer the same window again, which dedupe absorbs. Never
    // move it backwards (a node with a slower clock or an older `now` may finish after a newer scan).
    if (failed > 0 || (cur && cur.value.lastScanAt >= now.getTime())) return;
    sortableTime(now.getTime());
    try {
      await barrier.putJSON(path, { lastScanAt: now.getTime() } satisfies Cursor, { expectVersion: cur ? cur.version : 0 });
    } catch (e) {
      if (!(e instanceof CasConflict)) throw e; // another node scanned at the same time: its cursor stands
    }
  }
}

export interface TimedSourceOptions<D> {
  name: string;
  /** rate(...) or cron(...), or a Schedule (e.g. everyDays). */
  schedule: string | Schedule;
  /** Where a rate(...) counts from (default: startAt, else 1970-01-01T00:00Z, so every node agrees). */
  anchor?: Date;
  /** No occurrence at or before this fires (default: the first scan's `now`). */
  startAt?: Date;
  /** After an outage, how many of the missed occurrences to run (newest first). Default 1. */
  catchUp?: number;
  /** The job for one occurrence. */
  job: (occurrence: Date) => { kind: string; target: string; data: D; step?: string; maxAttempts?: number };
}

/**
 * A source for a fixed schedule: one job per occurrence, due at the occurrence, with the dedupe key
 * `<name>/<occurrence ISO>`. Occurrences missed while no node ran collapse to the newest `catchUp`.
 */
export function timedSource<D>(opts: TimedSourceOptions<D>): ScheduleSource {
  checkKind(opts.name);
  const schedule = typeof opts.schedule === 'string' ? parseSchedule(opts.schedule, opts.anchor ?? opts.startAt ?? new Date(0)) : opts.schedule;
  return {
    name: opts.name,
    *due({ since, now }) {
      const from = since ?? opts.startAt ?? now;
      for (const at of occurrencesBetween(schedule, from, now, opts.catchUp ?? 1)) {
        const j = opts.job(at);
        yield { ...j, runAt: at, dedupeKey: `${opts.name}/${at.toISOString()}` };
      }
    },
  };
}
