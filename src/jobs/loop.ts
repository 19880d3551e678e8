// Two small concurrency tools of the worker and scheduler.
//
// A polling loop in real time: run, sleep, repeat, until stopped. Used by the worker (due scans) and
// the scheduler (schedule sources). Tests do not use it: they call runDueOnce / scanOnce directly.

export class PollLoop {
  private running: Promise<void> | undefined;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  /** wake() arrived while a run was in progress: run again without sleeping. */
  private pending = false;

  constructor(
    private readonly fn: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly random: () => number,
    private readonly onError: (e: unknown) => void,
  ) {
    if (!(intervalMs > 0)) throw new RangeError('poll interval must be positive');
  }

  get active(): boolean {
    return this.running !== undefined;
  }

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = (async () => {
      while (!this.stopping) {
        this.pending = false;
        try {
          await this.fn();
        } catch (e) {
          this.onError(e);
        }
        if (this.stopping) break;
        if (this.pending) {
          this.pending = false;
          continue;
        }
        // ±20% so nodes started together do not poll in lockstep.
        await this.sleep(Math.round(this.intervalMs * (0.8 + 0.4 * this.random())));
      }
    })();
  }

  /** Run now instead of at the end of the current sleep. */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else if (this.running) this.pending = true;
  }

  /** Stops after the current run finishes. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.running;
    this.running = undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wakeUp = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}

/**
 * Runs async functions one after another. A job's heartbeats and result writes go through one:
 * both are CAS writes from the version this worker last wrote, and if they raced, the loser would
 * see its own write as someone else's and give the job up.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => {});
    return p;
  }
}
