// Which nodes share the store, for dividing quotas: each node writes quotas/nodes/<node> with the
// time every `intervalMs`; a node is live while its entry is younger than 3 intervals. A node that
// stops cleanly deletes its entry; one that crashes drops out after 3 intervals (until then the
// others enforce a little less than their share: the safe side).
import type { Barrier } from '../storage/barrier.ts';

export const NODES_PREFIX = 'quotas/nodes/';

export class NodeRegistry {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: { barrier: Barrier; node: string; intervalMs?: number; clock?: () => number; onCount: (n: number) => void; onError?: (m: string) => void }) {}

  private get interval() { return this.o.intervalMs ?? 5000; }

  /** Writes this node's heartbeat and reports the live count. */
  async beat(): Promise<number> {
    const now = (this.o.clock ?? Date.now)();
    await this.o.barrier.putJSON(NODES_PREFIX + this.o.node, { seenAt: now });
    let live = 0;
    for (const k of await this.o.barrier.list(NODES_PREFIX)) {
      const e = await this.o.barrier.getJSON<{ seenAt: number }>(k);
      if (e && now - e.value.seenAt < 3 * this.interval) live++;
    }
    this.o.onCount(Math.max(1, live));
    return live;
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => { this.beat().catch((e: unknown) => this.o.onError?.(`quotas: heartbeat failed: ${(e as Error).message}`)); }, this.interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.o.barrier.delete(NODES_PREFIX + this.o.node).catch(() => false);
  }
}
