// Rollback detection for the security-critical rows (issue 17, item 2).
//
// Every barrier value (format v2, barrier.ts) carries a write stamp bound into its AAD: a hybrid
// logical clock, max(now in ms * 1024, last stamp seen + 1), so a stamp cannot be changed without
// the root key, and a later write of a path always has a larger stamp than any value of it this node
// has written or read. The guard keeps, OUTSIDE the store (a file in the node's data directory,
// authenticated with a key derived from the barrier keyring), the newest stamp it has seen for each
// protected path, and the stamp at which it deleted or found deleted a path. On every read:
//   - a value older than the newest this node has seen at that path is a rollback;
//   - a value at a path this node deleted (or found deleted) that is not newer than the last value
//     it saw there (nor, when it deleted it, than the deletion less UNSEEN_DELETE_SKEW_MS) is a
//     rollback (a resurrected row); a path created again has a newer stamp.
//     (A node whose clock is behind another's by more than the time between a value's write and the
//     path's re-creation on the slower node would be reported falsely: keep node clocks in sync.)
// Writes with compare-and-swap are marked exactly; blind writes UNSEEN_DELETE_SKEW_MS lower.
// At start every marked path is read once, so a rollback made while the node was down is reported.
//
// Not covered (docs/OPERATIONS.md): a change this node never saw (another node wrote it, and it was
// rolled back before this node read it); a rollback of the store together with this file; values
// written before the upgrade are stamp 0 until rewritten; paths outside PROTECTED_PREFIXES.
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constantTimeEqual, hmacSha256 } from '../crypto/index.ts';
import { type Barrier, BarrierValueError } from './barrier.ts';
import { reportRollbackMarks } from '../diagnostics.ts';

/** The rows whose rollback grants or restores access: principals, access keys, policies, keys, grants, secrets. */
export const PROTECTED_PREFIXES: readonly string[] = ['iam/', 'kms/keys/', 'kms/aliases/', 'kms/grants/', 'kms/retiring-grants/', 'secrets/s/', 'secrets/val/'];
export const MARKS_FILE = 'rollback-marks.json';
const STAMP_PER_MS = 1024;
/**
 * Clock skew allowed between nodes where this node cannot know the order: a path deleted without
 * having seen its value, and a blind write (no compare-and-swap) another node may overwrite.
 */
const UNSEEN_DELETE_SKEW_MS = 5000;

export const isProtected = (path: string): boolean => PROTECTED_PREFIXES.some((p) => path.startsWith(p));

interface Mark {
  /** The guard's sequence when the mark was set (0: loaded from the file); not stored. */
  at?: number;
  /** Newest stamp seen at the path (written or read); when deleted, of the last value seen before. */
  s: number;
  /** The path was deleted (by this node, or found missing). */
  d?: 1;
}

interface MarksFile {
  version: 1;
  store: string;
  clock: number;
  marks: Record<string, Mark>;
  mac: string;
}

export type RollbackVerdict = null | { reason: string };

export class RollbackGuard {
  private clock = 0;
  private marks = new Map<string, Mark>();
  /** Bumped whenever a mark is set: a read is checked only against marks set before it started. */
  private seq = 0;
  /** Writes in flight per path, with the smallest stamp among overlapping writes. */
  private pending = new Map<string, { n: number; min: number }>();
  private dirty = false;
  private flushing: Promise<void> | null = null;
  /** Why the marks file was not used at load (missing, another store, not authentic), for the start-up log. */
  loadProblem: string | null = null;

  private constructor(private readonly file: string, private readonly storeId: string, private readonly macKey: Buffer, private readonly now: () => number) {}

  /** Loads the node's marks for this store (identified by storeId); a missing or foreign file starts empty. */
  static load(dataDir: string, storeId: string, macKey: Buffer, now: () => number = Date.now): RollbackGuard {
    const g = new RollbackGuard(join(dataDir, MARKS_FILE), storeId, macKey, now);
    if (!existsSync(g.file)) {
      g.loadProblem = 'no marks file (first start of this node)';
      return g;
    }
    try {
      const f = JSON.parse(readFileSync(g.file, 'utf8')) as MarksFile;
      if (f.store !== storeId) g.loadProblem = 'the marks file belongs to another store';
      else if (!constantTimeEqual(Buffer.from(String(f.mac), 'hex'), g.mac(f))) g.loadProblem = 'the marks file is not authentic (edited?)';
      else {
        g.clock = f.clock;
        g.marks = new Map(Object.entries(f.marks));
      }
    } catch {
      g.loadProblem = 'the marks file cannot be read';
    }
    return g;
  }

  private mac(f: Omit<MarksFile, 'mac'>): Buffer {
    return hmacSha256(this.macKey, JSON.stringify([f.version, f.store, f.clock, f.marks]));
  }

  /** The next write stamp (monotonic, never below any stamp seen). */
  stamp(): number {
    this.clock = Math.max(this.now() * STAMP_PER_MS, this.clock + 1);
    return this.clock;
  }

  get markedPaths(): string[] {
    return [...this.marks.keys()];
  }

  /** Taken before a read is sent: marks set after it (a write that raced the read) are not held against it. */
  readStart(): number {
    return this.seq;
  }

  /** A value read at path with its stamp (0: written before stamps). Returns a verdict when it is a rollback. */
  read(path: string, stamp: number, startedAt: number): RollbackVerdict {
    this.clock = Math.max(this.clock, stamp);
    if (!isProtected(path)) return null;
    const m = this.marks.get(path);
    if (m && (m.at ?? 0) > startedAt) {
      // a write or read that raced this one set the mark: this value may be older without a rollback
      return null;
    }
    if (m?.d) {
      if (stamp <= m.s) return { reason: 'is a row this node saw deleted, back with an older value (rolled back)' };
      this.set(path, { s: stamp });
      return null;
    }
    if (m && stamp < m.s) return { reason: 'is older than one this node has seen (rolled back)' };
    if (!m || stamp > m.s) this.set(path, { s: stamp });
    return null;
  }

  /** The path was read and is absent: whatever this node saw there was deleted. */
  missing(path: string, startedAt: number): void {
    const m = this.marks.get(path);
    if (m && !m.d && (m.at ?? 0) <= startedAt) this.set(path, { s: m.s, d: 1 });
  }

  /** A write of path with stamp is about to be sent. */
  writeStart(path: string, stamp: number): void {
    if (!isProtected(path)) return;
    const p = this.pending.get(path);
    if (p) {
      p.n++;
      p.min = Math.min(p.min, stamp);
    } else this.pending.set(path, { n: 1, min: stamp });
  }

  /**
   * The write finished. Overlapping writes of one path may commit in another order than they
   * resolve, so the mark is the smallest stamp among them: weaker, never a false alarm.
   */
  writeEnd(path: string, stamp: number, ok: boolean, blind = false): void {
    if (!isProtected(path)) return;
    const p = this.pending.get(path);
    // a blind write (no compare-and-swap) may be overtaken by another node's blind write with a
    // smaller stamp (clock skew): its mark allows for UNSEEN_DELETE_SKEW_MS of skew
    const low = Math.min(stamp, p?.min ?? stamp) - (blind ? UNSEEN_DELETE_SKEW_MS * STAMP_PER_MS : 0);
    if (p && --p.n === 0) this.pending.delete(path);
    if (ok) this.set(path, { s: low });
  }

  /**
   * Deleted by this node. A value at the path is then a resurrection when it is not newer than the
   * last value seen there, nor than the deletion less UNSEEN_DELETE_SKEW_MS (a path re-created by
   * another node whose clock is behind by less than that is not).
   */
  deleted(path: string): void {
    if (!isProtected(path)) return;
    const m = this.marks.get(path);
    this.set(path, { s: Math.max(m?.s ?? 0, this.stamp() - UNSEEN_DELETE_SKEW_MS * STAMP_PER_MS), d: 1 });
  }

  private set(path: string, m: Mark): void {
    this.marks.set(path, { ...m, at: ++this.seq });
    this.dirty = true;
    // a failed write (data directory gone at shutdown) loses marks: weaker detection, never a false one
    this.flushing ??= Promise.resolve().then(() => this.flushNow()).catch(() => {});
  }

  /** Writes the marks file (temp file + rename), coalescing writes made meanwhile. */
  private async flushNow(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        const marks = Object.fromEntries([...this.marks].map(([k, m]) => [k, m.d ? { s: m.s, d: m.d } : { s: m.s }]));
        const body = { version: 1 as const, store: this.storeId, clock: this.clock, marks };
        const tmp = `${this.file}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify({ ...body, mac: this.mac(body).toString('hex') }), { mode: 0o600 });
        await rename(tmp, this.file);
      }
    } finally {
      this.flushing = null;
    }
  }

  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.dirty) {
      this.flushing = this.flushNow();
      await this.flushing;
    }
  }
}

/** What start-up found: rolled-back paths (each also logged as a tamper line) and why the marks file was not used. */
export interface RollbackStartReport {
  guard: RollbackGuard;
  rolledBack: string[];
  loadProblem: string | null;
}

/**
 * Attaches this node's guard (marks in dataDir) to the barrier and reads every marked path once:
 * a row rolled back while the node was down is reported now (and keeps failing on every read).
 */
export async function startRollbackGuard(barrier: Barrier, dataDir: string): Promise<RollbackStartReport> {
  const storeId = barrier.deriveLocalKey('store-id').subarray(0, 16).toString('hex');
  const guard = RollbackGuard.load(dataDir, storeId, barrier.deriveLocalKey('rollback-marks'));
  barrier.attachRollbackGuard(guard);
  if (guard.loadProblem && existsSync(join(dataDir, MARKS_FILE))) reportRollbackMarks(guard.loadProblem);
  const rolledBack: string[] = [];
  for (const path of guard.markedPaths) {
    try {
      await barrier.get(path);
    } catch (e) {
      if (e instanceof BarrierValueError) rolledBack.push(path);
      else throw e;
    }
  }
  return { guard, rolledBack, loadProblem: guard.loadProblem };
}
