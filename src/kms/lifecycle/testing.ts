// Test support for the lifecycle: the KMS harness (src/kms/testing.ts) plus job engines ("nodes")
// over the same barrier and clock, with the lifecycle's kinds and sources registered and its job
// events wired, as src/server.ts does.
import { JobEngine } from '../../jobs/engine.ts';
import type { Backend } from '../../storage/backend.ts';
import type { JobEvent } from '../../jobs/runner.ts';
import type { Job } from '../../jobs/model.ts';
import { harness, type Harness } from '../testing.ts';
import type { KeyRecord } from '../model.ts';
import type { KeyEvent } from './hooks.ts';

export interface LifecycleHarness extends Harness {
  engine: JobEngine;
  events: KeyEvent[];
  jobEvents: JobEvent[];
  /** What the engine reported through onError (tests assert it stays empty). */
  errors: { where: string; error: unknown }[];
  /** One scheduler scan and one worker round at the current time, on every engine. */
  tick(): Promise<void>;
  /** Advance the clock, then tick. */
  at(ms: number): Promise<void>;
  record(keyId: string): Promise<KeyRecord>;
  jobs(kind?: string): Promise<Job[]>;
}

export type LifecycleHarnessOptions = Omit<NonNullable<Parameters<typeof harness>[0]>, 'backend'> & { backend?: Backend };

export async function lifecycleHarness(opts: LifecycleHarnessOptions = {}): Promise<LifecycleHarness> {
  // The KMS harness only seals, unseals and exposes its backend, so any Backend does (the simulation
  // uses SQLite in memory: MemoryBackend's list() sorts every key on each call).
  const h = await harness(opts as Parameters<typeof harness>[0]);
  const events: KeyEvent[] = [];
  const jobEvents: JobEvent[] = [];
  const errors: { where: string; error: unknown }[] = [];
  h.kms.lifecycle.addKeyEventListener((e) => events.push(e));
  const engine = new JobEngine({
    barrier: h.barrier, nodeId: 'test-node', clock: { now: () => new Date(h.now()) },
    worker: { onEvent: (e) => { jobEvents.push(e); h.kms.lifecycle.onJobEvent(e); }, onError: (error, where) => { errors.push({ where, error }); } },
    scheduler: { onError: (error, where) => { errors.push({ where, error }); } },
  });
  h.kms.lifecycle.register(engine);
  const tick = async () => {
    await engine.tick(new Date(h.now()));
  };
  return Object.assign(h, {
    engine, events, jobEvents, errors, tick,
    async at(ms: number) {
      h.advance(ms);
      await tick();
    },
    async record(keyId: string) {
      const got = await h.kms.store.readKey(keyId);
      if (!got) throw new Error(`no key ${keyId}`);
      return got.value;
    },
    async jobs(kind?: string) {
      const out: Job[] = [];
      let after: string | undefined;
      do {
        const page = await engine.list({ limit: 1000, ...(kind ? { kind } : {}), ...(after ? { after } : {}) });
        out.push(...page.jobs);
        after = page.next;
      } while (after);
      return out;
    },
  });
}

/** Exactly one current material: the current id names one of the key's materials, and ids are unique. */
export function currentMaterialCount(rec: KeyRecord): number {
  const ids = rec.materials.map((m) => m.id);
  if (new Set(ids).size !== ids.length) return -1;
  return ids.filter((id) => id === rec.currentMaterialId).length;
}
