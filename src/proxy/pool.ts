// Server-connection pools, one per (database, user) of a target, and the target's cutover state
// (pause / switch / resume) that all of its pools share.
import type { Endpoint, ProxyTargetConfig } from './config.ts';
import type { SecretCredentials } from './ports.ts';
import { ServerConn, UpstreamError } from './upstream.ts';
import type { UpstreamTls } from './upstream-tls.ts';

/** What a pool asks of a client for pause: is a transaction (or a query) of it in flight? */
export interface PoolClient {
  readonly busy: boolean;
}

/** A borrow that waited longer than borrowTimeoutMs, or a pause that timed out. */
export class PoolError extends Error {
  constructor(message: string, readonly sqlstate: string) {
    super(message);
    this.name = 'PoolError';
  }
}

/**
 * Cutover state of one target. pause(): new transactions wait at their start (Cutover.gate), in-flight
 * ones finish; resolves when no client is busy, or rejects after the timeout (and resumes, so no
 * client is harmed). switch(): new endpoint, generation + 1; connections of older generations are
 * closed when they next come back idle. resume(): waiting transactions go.
 */
export class Cutover {
  generation = 0;
  private pausedAt: number | undefined;
  private release: (() => void) | undefined;
  private gatePromise: Promise<void> | undefined;
  readonly clients = new Set<PoolClient>();
  /** Longest time a pause lasted (pause to resume), and the longest a client waited at the gate. */
  longestPauseMs = 0;
  longestStallMs = 0;
  /** The longest client wait of the last pause that was resumed. */
  lastStallMs = 0;
  pauses = 0;
  switches = 0;

  constructor(public endpoint: Endpoint) {}

  get paused(): boolean {
    return this.gatePromise !== undefined;
  }

  /** Resolves when the target is not paused (immediately when it is not). */
  gate(): Promise<void> {
    return this.gatePromise ?? Promise.resolve();
  }

  /** Held clients of the current pause -> when each was held (measured here, on the server side). */
  private readonly held = new Map<symbol, number>();

  /** gate(), and the wait counted as a client stall: resume() reports the longest, at the moment it releases them. */
  async hold(): Promise<void> {
    const g = this.gatePromise;
    if (!g) return;
    const k = Symbol('held');
    this.held.set(k, Date.now());
    try {
      await g;
    } finally {
      this.held.delete(k);
    }
  }

  async pause(timeoutMs: number): Promise<{ drainedMs: number }> {
    if (!this.gatePromise) {
      this.gatePromise = new Promise<void>((r) => (this.release = r));
      this.pausedAt = Date.now();
      this.pauses++;
    }
    const start = Date.now();
    while ([...this.clients].some((c) => c.busy)) {
      if (Date.now() - start >= timeoutMs) {
        const busy = [...this.clients].filter((c) => c.busy).length;
        this.resume();
        throw new PoolError(`pause timed out after ${timeoutMs} ms: ${busy} transaction(s) still in flight; resumed`, '57014');
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    return { drainedMs: Date.now() - start };
  }

  switchTo(endpoint: Endpoint): void {
    if (!this.paused) throw new PoolError('switch needs a paused target (pause first)', '55000');
    this.endpoint = { host: endpoint.host, port: endpoint.port };
    this.generation++;
    this.switches++;
  }

  /**
   * Releases held clients. Returns how long the pause lasted and the longest any client was held
   * (0 when none was), both measured now, before the held clients run: the value status() shows.
   */
  resume(): { pausedMs: number; stallMs: number } {
    const now = Date.now();
    const pausedMs = this.pausedAt === undefined ? 0 : now - this.pausedAt;
    let stallMs = 0;
    for (const t0 of this.held.values()) stallMs = Math.max(stallMs, now - t0);
    this.held.clear();
    this.longestPauseMs = Math.max(this.longestPauseMs, pausedMs);
    this.longestStallMs = Math.max(this.longestStallMs, stallMs);
    this.lastStallMs = this.pausedAt === undefined ? this.lastStallMs : stallMs;
    const r = this.release;
    this.gatePromise = undefined;
    this.release = undefined;
    this.pausedAt = undefined;
    r?.();
    return { pausedMs, stallMs };
  }
}

interface Waiter {
  resolve(s: ServerConn): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  done: boolean;
}

export interface PoolMetrics {
  database: string;
  user: string;
  active: number;
  idle: number;
  connecting: number;
  waiting: number;
  borrows: number;
  waits: number;
  waitMsTotal: number;
  waitMsMax: number;
  borrowTimeouts: number;
  serverLogins: number;
  loginRetries: number;
}

export class Pool {
  private readonly idle: ServerConn[] = [];
  private readonly active = new Set<ServerConn>();
  private connecting = 0;
  private readonly waiters: Waiter[] = [];
  private creds: Promise<SecretCredentials> | undefined;
  private readonly stats = { borrows: 0, waits: 0, waitMsTotal: 0, waitMsMax: 0, borrowTimeouts: 0, serverLogins: 0, loginRetries: 0 };
  /** ParameterStatus values of the last server that logged in (sent to clients in transaction mode). */
  lastParams: Map<string, string> | undefined;
  private closed = false;

  constructor(
    readonly database: string,
    readonly user: string,
    private readonly cfg: ProxyTargetConfig,
    readonly cutover: Cutover,
    private readonly readCredentials: () => Promise<SecretCredentials>,
    /** The target's upstream TLS settings at the time of a login (undefined: plaintext). */
    private readonly tls: () => UpstreamTls | undefined = () => undefined,
    /** A server connection could not be opened (after the retry with re-read credentials): the target counts, logs and audits it. */
    private readonly onLoginFailed: (e: unknown, endpoint: Endpoint) => void = () => {},
  ) {}

  /** Forget cached credentials: the next login reads the secret (after a rotation). */
  invalidateCredentials(): void {
    this.creds = undefined;
  }

  /** An idle server usable right now without I/O (no health check due), or undefined. */
  tryTake(): ServerConn | undefined {
    for (;;) {
      const s = this.idle.pop();
      if (!s) return undefined;
      if (s.closed || s.generation !== this.cutover.generation) {
        s.close();
        continue;
      }
      if (this.cfg.healthCheckAfterMs > 0 && Date.now() - s.lastUsed > this.cfg.healthCheckAfterMs) {
        this.idle.push(s);
        return undefined;
      }
      this.active.add(s);
      this.stats.borrows++;
      return s;
    }
  }

  async borrow(): Promise<ServerConn> {
    if (this.closed) throw new PoolError('the proxy is shutting down', '57P01');
    for (;;) {
      const s = this.idle.pop();
      if (!s) break;
      if (s.closed || s.generation !== this.cutover.generation) {
        s.close();
        continue;
      }
      if (this.cfg.healthCheckAfterMs > 0 && Date.now() - s.lastUsed > this.cfg.healthCheckAfterMs) {
        this.active.add(s); // counted while checked
        try {
          await s.simpleQuery(''); // EmptyQueryResponse + ReadyForQuery: the server is alive
        } catch {
          this.active.delete(s);
          s.close();
          continue;
        }
        this.stats.borrows++;
        return s;
      }
      this.active.add(s);
      this.stats.borrows++;
      return s;
    }
    if (this.active.size + this.connecting < this.cfg.poolSize) {
      this.connecting++;
      try {
        const s = await this.open();
        this.active.add(s);
        this.stats.borrows++;
        return s;
      } finally {
        this.connecting--;
      }
    }
    const since = Date.now();
    this.stats.waits++;
    return new Promise<ServerConn>((resolve, reject) => {
      const w: Waiter = {
        done: false,
        resolve: (s) => {
          const waited = Date.now() - since;
          this.stats.waitMsTotal += waited;
          this.stats.waitMsMax = Math.max(this.stats.waitMsMax, waited);
          this.stats.borrows++;
          resolve(s);
        },
        reject,
        timer: setTimeout(() => {
          w.done = true;
          this.waiters.splice(this.waiters.indexOf(w), 1);
          this.stats.borrowTimeouts++;
          reject(new PoolError(`no server connection for ${this.database}/${this.user} within ${this.cfg.borrowTimeoutMs} ms (pool size ${this.cfg.poolSize})`, '53300'));
        }, this.cfg.borrowTimeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /**
   * Returns a server. `reset` runs DISCARD ALL first (session state of the last client);
   * `broken` closes it (left mid-transaction or mid-message).
   */
  release(s: ServerConn, opts: { reset?: boolean; broken?: boolean } = {}): void {
    s.detach();
    if (opts.broken || s.closed || this.closed || s.generation !== this.cutover.generation || Date.now() - s.createdAt > this.cfg.serverLifetimeMs) {
      this.active.delete(s);
      s.close();
      this.grant();
      return;
    }
    if (opts.reset) {
      s.simpleQuery('DISCARD ALL').then(
        () => {
          s.appliedSig = undefined;
          this.handBack(s);
        },
        () => {
          this.active.delete(s);
          s.close();
          this.grant();
        },
      );
      return;
    }
    this.handBack(s);
  }

  private handBack(s: ServerConn): void {
    const w = this.nextWaiter();
    if (w) return w.resolve(s); // stays active
    this.active.delete(s);
    if (s.closed) return this.grant();
    this.idle.push(s);
  }

  private nextWaiter(): Waiter | undefined {
    for (;;) {
      const w = this.waiters.shift();
      if (!w) return undefined;
      if (w.done) continue;
      w.done = true;
      clearTimeout(w.timer);
      return w;
    }
  }

  /** After a server closed: open a new one for the first waiter, if any. */
  private grant(): void {
    if (this.waiters.length === 0 || this.active.size + this.connecting >= this.cfg.poolSize) return;
    const w = this.nextWaiter();
    if (!w) return;
    this.connecting++;
    this.open().then(
      (s) => {
        this.connecting--;
        this.active.add(s);
        w.resolve(s);
      },
      (e: Error) => {
        this.connecting--;
        w.reject(e);
      },
    );
  }

  private async open(): Promise<ServerConn> {
    const endpoint = this.cutover.endpoint;
    try {
      return await this.connectAndLogIn();
    } catch (e) {
      if (!this.closed) this.onLoginFailed(e, endpoint);
      throw e;
    }
  }

  private async connectAndLogIn(): Promise<ServerConn> {
    const generation = this.cutover.generation;
    const endpoint = this.cutover.endpoint;
    const login = async (creds: SecretCredentials) => {
      this.stats.serverLogins++;
      const s = await ServerConn.connect({ endpoint, user: creds.username, password: creds.password, database: this.database, connectTimeoutMs: this.cfg.connectTimeoutMs, generation, tls: this.tls() });
      s.onClose(() => {
        if (this.idle.includes(s)) this.idle.splice(this.idle.indexOf(s), 1);
      });
      this.lastParams = new Map(s.params);
      return s;
    };
    this.creds ??= this.readCredentials();
    const mine = this.creds;
    let creds: SecretCredentials;
    try {
      creds = await mine;
    } catch (e) {
      if (this.creds === mine) this.creds = undefined;
      throw e;
    }
    try {
      return await login(creds);
    } catch (e) {
      if (!(e instanceof UpstreamError) || !e.auth) throw e;
      // The password may have been rotated: read the secret again (a rotation in progress makes
      // the read wait until AWSCURRENT works) and retry once before the client sees anything.
      this.stats.loginRetries++;
      if (this.creds === mine || this.creds === undefined) this.creds = this.readCredentials();
      const fresh = this.creds;
      try {
        return await login(await fresh);
      } catch (e2) {
        if (this.creds === fresh) this.creds = undefined;
        throw e2;
      }
    }
  }

  /** Closes idle servers unused for serverIdleTimeoutMs (and any of an older generation). */
  reapIdle(now = Date.now()): void {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const s = this.idle[i]!;
      if (s.closed || now - s.lastUsed > this.cfg.serverIdleTimeoutMs || s.generation !== this.cutover.generation) {
        this.idle.splice(i, 1);
        s.close();
      }
    }
  }

  metrics(): PoolMetrics {
    return { database: this.database, user: this.user, active: this.active.size, idle: this.idle.length, connecting: this.connecting, waiting: this.waiters.length, ...this.stats };
  }

  close(): void {
    this.closed = true;
    for (const s of this.idle.splice(0)) s.close();
    for (const s of this.active) s.close();
    for (let w = this.nextWaiter(); w; w = this.nextWaiter()) w.reject(new PoolError('the proxy is shutting down', '57P01'));
  }
}
