// The persisted upstream of each target (UpstreamStore, ports.ts) applied to this node: at start
// directly (nothing is connected yet), then re-read every intervalMs; when another node's cutover
// changed it, this node does its own pause / switch / resume. Polling, so any storage backend works.
import type { Endpoint } from './config.ts';
import type { UpstreamStore } from './ports.ts';

/** What the sync needs of ProxyService. */
export interface SyncedProxy {
  targetNames(): string[];
  current(name: string): { endpoint: Endpoint; paused: boolean };
  /** Before start only: the endpoint without a cutover. */
  setInitialEndpoint(name: string, endpoint: Endpoint): void;
  /** Pause, switch, resume on this node (another node's cutover); throws what pause / switch throw. */
  follow(name: string, endpoint: Endpoint): Promise<void>;
  log(e: unknown): void;
}

export class UpstreamSync {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly proxy: SyncedProxy, private readonly store: UpstreamStore, private readonly intervalMs: number) {}

  /** Applies the stored upstreams (a read failure here fails the start), then polls. */
  async start(): Promise<void> {
    await this.apply(true);
    this.timer = setInterval(() => void this.apply(false), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async apply(initial: boolean): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const name of this.proxy.targetNames()) {
        let ep: Endpoint | undefined;
        try {
          ep = await this.store.load(name);
        } catch (e) {
          if (initial) throw e;
          this.proxy.log(e); // keeps the current endpoint
          continue;
        }
        const now = this.proxy.current(name);
        if (!ep || (ep.host === now.endpoint.host && ep.port === now.endpoint.port)) continue;
        if (initial) this.proxy.setInitialEndpoint(name, ep);
        else if (!now.paused) {
          // paused: a cutover or an operator's pause is in progress here; next round
          await this.proxy.follow(name, ep).catch((e: unknown) => this.proxy.log(e));
        }
      }
    } finally {
      this.running = false;
    }
  }
}
