// Test fixtures: a barrier over a real backend, and a backend wrapper that counts operations.
import { randomBytes } from '../../crypto/index.ts';
import type { Backend, Entry, ListOptions, Op, PutOptions } from '../../storage/backend.ts';
import { Barrier, initializeSeal } from '../../storage/barrier.ts';
import { MemoryBackend } from '../../storage/memory.ts';
import { type Job, PREFIX, duePath, statePath } from '../model.ts';

export async function barrierOver(backend: Backend, root: Uint8Array = randomBytes(32)): Promise<Barrier> {
  await initializeSeal(backend, root, 'test');
  return Barrier.unseal(backend, root);
}

export function memoryBarrier(): Promise<Barrier> {
  return barrierOver(new MemoryBackend());
}

export interface OpCounts {
  get: number;
  put: number;
  list: number;
  listed: number;
  transaction: number;
  /** Gets by key prefix (e.g. 'jobs/j/'). */
  getsByPrefix: Map<string, number>;
}

/** Counts what the engine asks of storage, so cost can be asserted exactly instead of timed. */
export class CountingBackend implements Backend {
  readonly kind: string;
  counts: OpCounts = CountingBackend.zero();

  constructor(private readonly inner: Backend) {
    this.kind = inner.kind;
  }

  static zero(): OpCounts {
    return { get: 0, put: 0, list: 0, listed: 0, transaction: 0, getsByPrefix: new Map() };
  }

  reset(): void {
    this.counts = CountingBackend.zero();
  }

  get(key: string): Promise<Entry | null> {
    this.counts.get++;
    const p = key.split('/').slice(0, 2).join('/') + '/';
    this.counts.getsByPrefix.set(p, (this.counts.getsByPrefix.get(p) ?? 0) + 1);
    return this.inner.get(key);
  }

  put(key: string, value: Uint8Array, opts?: PutOptions): Promise<number> {
    this.counts.put++;
    return this.inner.put(key, value, opts);
  }

  delete(key: string, opts?: PutOptions): Promise<boolean> {
    return this.inner.delete(key, opts);
  }

  async list(prefix: string, opts?: ListOptions): Promise<string[]> {
    this.counts.list++;
    const keys = await this.inner.list(prefix, opts);
    this.counts.listed += keys.length;
    return keys;
  }

  transaction(ops: Op[]): Promise<void> {
    this.counts.transaction++;
    return this.inner.transaction(ops);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Every job has exactly the index entries its record implies, and no index entry is orphaned. */
export async function assertIndexesConsistent(barrier: Barrier): Promise<Job[]> {
  const jobs: Job[] = [];
  for (const key of await barrier.list(PREFIX.job)) jobs.push((await barrier.getJSON<Job>(key))!.value);
  const wantDue = new Set(jobs.map(duePath).filter((p): p is string => p !== null));
  const wantState = new Set(jobs.map((j) => statePath(j.state, j.id)));
  const haveDue = new Set([...(await barrier.list(PREFIX.due)), ...(await barrier.list(PREFIX.lease))]);
  const haveState = new Set(await barrier.list(PREFIX.state));
  const diff = (a: Set<string>, b: Set<string>) => [...a].filter((x) => !b.has(x));
  const problems = [
    ...diff(wantDue, haveDue).map((k) => `missing ${k}`), ...diff(haveDue, wantDue).map((k) => `orphan ${k}`),
    ...diff(wantState, haveState).map((k) => `missing ${k}`), ...diff(haveState, wantState).map((k) => `orphan ${k}`),
  ];
  if (problems.length > 0) throw new Error(`job indexes disagree with records:\n${problems.slice(0, 20).join('\n')}`);
  return jobs;
}

/** A promise to open from outside: lets a test hold a step mid-run without sleeping. */
export function gate<T = void>(): { promise: Promise<T>; open(v: T): void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => { open = r; });
  return { promise, open };
}

/** Polls a condition every few ms (for effects of real-time timers such as heartbeats); fails after `ms`. */
export async function eventually(cond: () => Promise<boolean> | boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
