// ProxyService: one listener per target (src/proxy/target.ts), CancelRequest routing, metrics, and
// pause / switch / resume / cutover; the stored upstreams are followed by src/proxy/upstream-sync.ts.
import { createServer, connect } from 'node:net';
import type { SecureContext } from 'node:tls';
import { randomBytes } from '../crypto/index.ts';
import { NotFoundException, ValidationException } from '../errors.ts';
import { ClientConn } from './client.ts';
import type { AuthEventFacts } from './client-context.ts';
import type { Endpoint, ProxyTargetConfig, UpstreamTlsMode } from './config.ts';
import { PoolError, type PoolMetrics } from './pool.ts';
import type { IamTokenVerifier, SecretSource, UpstreamStore } from './ports.ts';
import { cancelRequest } from './protocol.ts';
import { Target, type LoginFailureReason } from './target.ts';
import { startUpstreamTls } from './upstream-tls.ts';
import { UpstreamSync, type SyncedProxy } from './upstream-sync.ts';

export type ProxyEvent =
  | ({ type: 'client-auth'; target: string } & AuthEventFacts)
  | { type: 'upstream-login-failed'; target: string; database: string; user: string; endpoint: Endpoint; reason: LoginFailureReason; sqlstate?: string; message: string; suppressed: number }
  | { type: 'cutover'; target: string; action: 'pause' | 'switch' | 'resume' | 'pause-timeout' | 'cutover' | 'cutover-failed' | 'sync'; endpoint?: Endpoint; from?: Endpoint; drainedMs?: number; stallMs?: number; pausedMs?: number; reason?: string };

/** One cutover, measured on the server: drain time, how long the target was paused, the longest client wait. */
export interface CutoverResult {
  target: string;
  from: Endpoint;
  to: Endpoint;
  drainedMs: number;
  pausedMs: number;
  stallMs: number;
}

export interface ProxyServiceOptions {
  targets: readonly ProxyTargetConfig[];
  secrets: SecretSource;
  /** TLS for the listeners (SSLRequest is answered 'N' without it); replace with setSecureContext(). */
  tls?: SecureContext;
  /** IAM token verification for targets with auth 'iam' / 'password+iam'. */
  iam?: IamTokenVerifier;
  /** Audit hook: client authentication and cutover events (never a password). */
  onEvent?: (e: ProxyEvent) => void;
  /** Unexpected errors (the operator's log). */
  log?: (e: unknown) => void;
  /** Persisted upstream per target: applied at start, written by cutover(), re-read every syncIntervalMs. */
  upstreams?: UpstreamStore;
  /** How often the persisted upstreams are re-read (another node's cutover reaches this one within it); default 2000. */
  syncIntervalMs?: number;
}

export interface TargetStatus {
  name: string;
  listen: Endpoint;
  upstream: Endpoint;
  /** upstream.tls of the target (docs/PROXY.md, "Upstream TLS"). */
  upstreamTls: UpstreamTlsMode;
  mode: ProxyTargetConfig['mode'];
  paused: boolean;
  generation: number;
  clients: number;
  pauses: number;
  switches: number;
  longestPauseMs: number;
  longestStallMs: number;
  /** The longest client wait of the last resumed pause (a cutover's stallMs). */
  lastStallMs: number;
  pools: PoolMetrics[];
}

/** One admin call's audit gate (src/storage/gate.ts WriteGate, seen by its shape: the proxy imports no storage). */
export interface CallGate {
  pass(): Promise<void>;
}

/** The admin API's view of the proxy: status and the cutover controls (forCall: one mutating call's). */
export interface ProxyControls {
  status(): TargetStatus[];
  pause(name: string, timeoutMs?: number): Promise<{ drainedMs: number }>;
  switch(name: string, endpoint: Endpoint): Promise<void> | void;
  resume(name: string): Promise<{ pausedMs: number; stallMs: number }>;
  cutover(name: string, endpoint: Endpoint, timeoutMs?: number): Promise<CutoverResult>;
}

export class ProxyService {
  private readonly targets = new Map<string, Target>();
  private readonly cancelKeys = new Map<number, { client: ClientConn; secret: number }>();
  private reaper: NodeJS.Timeout | undefined;
  private sync: UpstreamSync | undefined;
  private unsubscribe: (() => void) | undefined;
  readonly secrets: SecretSource;
  private tlsContext: SecureContext | undefined;
  readonly iam: IamTokenVerifier | undefined;

  constructor(private readonly opts: ProxyServiceOptions) {
    this.secrets = opts.secrets;
    this.tlsContext = opts.tls;
    this.iam = opts.iam;
    for (const t of opts.targets) {
      if (t.auth !== 'password' && !opts.iam) throw new ValidationException(`proxy target ${t.name} uses auth ${t.auth} but no IAM token verifier is configured`);
      if (t.auth !== 'password' && !opts.tls) throw new ValidationException(`proxy target ${t.name} uses auth ${t.auth}, which needs TLS on the proxy (IAM tokens are accepted over TLS only)`);
    }
    for (const t of opts.targets) this.targets.set(t.name, new Target(t, this));
  }

  async start(): Promise<void> {
    this.unsubscribe = this.secrets.onRotated(() => {
      for (const t of this.targets.values()) t.rotated();
    });
    if (this.opts.upstreams) {
      this.sync = new UpstreamSync(this.syncView(), this.opts.upstreams, this.opts.syncIntervalMs ?? 2000);
      await this.sync.start();
    }
    for (const t of this.targets.values()) {
      const server = createServer((socket) => {
        const c = new ClientConn(socket, t);
        t.clients.add(c);
      });
      t.server = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(t.cfg.listen.port, t.cfg.listen.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
    this.reaper = setInterval(() => {
      for (const t of this.targets.values()) for (const p of t.pools.values()) p.reapIdle();
    }, 1000);
    this.reaper.unref();
  }

  private syncView(): SyncedProxy {
    return {
      targetNames: () => [...this.targets.keys()],
      current: (name) => ({ endpoint: this.target(name).cutover.endpoint, paused: this.target(name).cutover.paused }),
      setInitialEndpoint: (name, ep) => void (this.target(name).cutover.endpoint = { host: ep.host, port: ep.port }),
      follow: async (name, ep) => {
        await this.pause(name);
        try {
          this.switch(name, ep);
          this.emit({ type: 'cutover', target: name, action: 'sync', endpoint: { host: ep.host, port: ep.port } });
        } finally {
          this.resume(name);
        }
      },
      log: (e) => this.log(e),
    };
  }

  get tls(): SecureContext | undefined {
    return this.tlsContext;
  }

  /** A new certificate (CA rotation, file reload): new handshakes use it; open connections keep theirs. */
  setSecureContext(ctx: SecureContext): void {
    this.tlsContext = ctx;
  }

  /** The bound address of a target's listener (port 0 in the config picks a free one). */
  address(name: string): Endpoint {
    const a = this.target(name).server?.address();
    if (!a || typeof a === 'string') throw new ValidationException(`proxy target ${name} is not listening`);
    return { host: a.address, port: a.port };
  }

  private target(name: string): Target {
    const t = this.targets.get(name);
    if (!t) throw new NotFoundException(`proxy target ${name} does not exist`);
    return t;
  }

  log(e: unknown): void {
    this.opts.log?.(e);
  }

  emit(e: ProxyEvent): void {
    try {
      this.opts.onEvent?.(e);
    } catch {
      // an audit hook failure must not break the data path; the hook reports its own errors
    }
  }

  /** New transactions wait; resolves when in-flight ones have finished (or rejects after the timeout and resumes). */
  async pause(name: string, timeoutMs?: number): Promise<{ drainedMs: number }> {
    const t = this.target(name);
    try {
      const r = await t.cutover.pause(timeoutMs ?? t.cfg.pauseTimeoutMs);
      this.emit({ type: 'cutover', target: name, action: 'pause', drainedMs: r.drainedMs });
      return r;
    } catch (e) {
      if (e instanceof PoolError) {
        this.emit({ type: 'cutover', target: name, action: 'pause-timeout' });
        throw new ValidationException(e.message);
      }
      throw e;
    }
  }

  /**
   * The cutover controls as one admin call sees them: each is checked first (the target exists, a
   * switch has a valid endpoint and a paused target), then passes the call's audit gate, then acts;
   * so a refused call changes nothing and is recorded once, with its error, and an unauditable one
   * changes nothing. Nothing here is stored: the cutover state lives in this process.
   */
  forCall(gate: CallGate): ProxyControls {
    return {
      status: () => this.status(),
      cutover: async (name, endpoint, timeoutMs) => {
        this.cutoverable(name, endpoint);
        await gate.pass();
        return this.cutover(name, endpoint, timeoutMs, gate);
      },
      pause: async (name, timeoutMs) => {
        this.target(name);
        await gate.pass();
        return this.pause(name, timeoutMs);
      },
      switch: async (name, endpoint) => {
        this.switchable(name, endpoint);
        await gate.pass();
        this.switch(name, endpoint);
      },
      resume: async (name) => {
        this.target(name);
        await gate.pass();
        return this.resume(name);
      },
    };
  }

  private cutoverable(name: string, endpoint: Endpoint): Target {
    const t = this.target(name);
    checkEndpoint(endpoint);
    if (t.cutover.paused) throw new ValidationException(`proxy target ${name} is paused: resume it before a cutover`);
    return t;
  }

  /**
   * The atomic cutover: pause (new transactions wait) -> in-flight ones finish (or, after timeoutMs,
   * ValidationException and nothing changed) -> switch -> persist the endpoint (through `gate` when
   * given) -> resume. If the switch or the write fails, the old endpoint is restored before the
   * resume, and the error is thrown. The stall is the longest a client was held, measured here.
   */
  async cutover(name: string, endpoint: Endpoint, timeoutMs?: number, gate?: CallGate): Promise<CutoverResult> {
    const t = this.cutoverable(name, endpoint);
    const limit = timeoutMs ?? t.cfg.pauseTimeoutMs;
    const from = { ...t.cutover.endpoint };
    const to = { host: endpoint.host, port: endpoint.port };
    const { drainedMs } = await this.pause(name, limit);
    try {
      this.switch(name, to);
      const store = this.opts.upstreams;
      if (store) await withTimeout(store.save(name, to, gate), limit, `could not store the new upstream of ${name} within ${limit} ms`);
    } catch (e) {
      if (t.cutover.endpoint.host !== from.host || t.cutover.endpoint.port !== from.port) {
        t.cutover.switchTo(from);
        for (const p of t.pools.values()) p.reapIdle();
      }
      const r = this.resume(name);
      const reason = e instanceof Error ? e.message : String(e);
      this.emit({ type: 'cutover', target: name, action: 'cutover-failed', endpoint: to, from, drainedMs, stallMs: r.stallMs, pausedMs: r.pausedMs, reason });
      throw e;
    }
    const r = this.resume(name);
    this.emit({ type: 'cutover', target: name, action: 'cutover', endpoint: to, from, drainedMs, stallMs: r.stallMs, pausedMs: r.pausedMs });
    return { target: name, from, to, drainedMs, pausedMs: r.pausedMs, stallMs: r.stallMs };
  }

  private switchable(name: string, endpoint: Endpoint): Target {
    const t = this.target(name);
    checkEndpoint(endpoint);
    if (!t.cutover.paused) throw new ValidationException('switch needs a paused target (pause first)');
    return t;
  }

  /** Points a paused target at another endpoint: idle servers of the old one are closed, new logins go to the new one. */
  switch(name: string, endpoint: Endpoint): void {
    const t = this.switchable(name, endpoint);
    try {
      t.cutover.switchTo(endpoint);
    } catch (e) {
      throw e instanceof PoolError ? new ValidationException(e.message) : e;
    }
    for (const p of t.pools.values()) p.reapIdle();
    this.emit({ type: 'cutover', target: name, action: 'switch', endpoint: { host: endpoint.host, port: endpoint.port } });
  }

  /** Releases held transactions; returns the pause's length and the longest client wait (what status() then shows as lastStallMs). */
  resume(name: string): { pausedMs: number; stallMs: number } {
    const r = this.target(name).cutover.resume();
    this.emit({ type: 'cutover', target: name, action: 'resume', stallMs: r.stallMs, pausedMs: r.pausedMs });
    return r;
  }

  /** Per target since start (the metrics read them): client authentications and failed upstream logins by reason. */
  counters(): { target: string; clientAuthSucceeded: number; clientAuthFailed: number; loginFailures: Partial<Record<LoginFailureReason, number>> }[] {
    return [...this.targets.values()].map((t) => ({ target: t.cfg.name, ...t.stats, loginFailures: { ...t.stats.loginFailures } }));
  }

  status(): TargetStatus[] {
    return [...this.targets.values()].map((t) => ({
      name: t.cfg.name,
      listen: t.server ? this.address(t.cfg.name) : t.cfg.listen,
      upstream: { ...t.cutover.endpoint },
      upstreamTls: t.cfg.upstream.tls ?? 'disable',
      mode: t.cfg.mode,
      paused: t.cutover.paused,
      generation: t.cutover.generation,
      clients: t.clients.size,
      pauses: t.cutover.pauses,
      switches: t.cutover.switches,
      longestPauseMs: t.cutover.longestPauseMs,
      longestStallMs: t.cutover.longestStallMs,
      lastStallMs: t.cutover.lastStallMs,
      pools: [...t.pools.values()].map((p) => p.metrics()),
    }));
  }

  registerCancel(client: ClientConn): { pid: number; secret: number } {
    for (;;) {
      const r = randomBytes(8);
      const pid = r.readUInt32BE(0) & 0x7fffffff;
      if (pid === 0 || this.cancelKeys.has(pid)) continue;
      const secret = r.readUInt32BE(4);
      this.cancelKeys.set(pid, { client, secret });
      return { pid, secret };
    }
  }

  unregisterCancel(pid: number): void {
    this.cancelKeys.delete(pid);
  }

  /** CancelRequest: forwarded to the server connection currently serving that client, if any. */
  cancel(pid: number, secret: number): void {
    const e = this.cancelKeys.get(pid);
    if (!e || e.secret !== secret) return; // PostgreSQL ignores a bad key silently too
    const s = e.client.server;
    if (!s || !s.pid) return;
    const tls = s.tls;
    const sock = connect({ host: s.endpoint.host, port: s.endpoint.port }, () => {
      if (!tls) return void sock.end(cancelRequest(s.pid, s.secret));
      // over TLS like the session (libpq 17's encrypted cancel): the key never crosses in plaintext
      startUpstreamTls(sock, tls, s.endpoint.host).then((t) => t.end(cancelRequest(s.pid, s.secret)), () => sock.destroy());
    });
    sock.on('error', () => sock.destroy());
    sock.setTimeout(10_000, () => sock.destroy());
  }

  /** Ends the client sessions (and their pools' server connections) that logged in with one of these secret ids, on every target; how many sessions. */
  endSessions(secretIds: readonly string[]): number {
    const ids = new Set(secretIds);
    let n = 0;
    for (const t of this.targets.values()) n += t.endSessions(ids);
    return n;
  }

  async close(): Promise<void> {
    clearInterval(this.reaper);
    this.sync?.stop();
    this.unsubscribe?.();
    for (const t of this.targets.values()) {
      t.cutover.resume();
      const closed = new Promise<void>((r) => (t.server ? t.server.close(() => r()) : r()));
      for (const c of [...t.clients]) c.fatal('57P01', 'terminating connection due to administrator command');
      for (const p of t.pools.values()) p.close();
      await closed;
    }
  }
}

function checkEndpoint(endpoint: Endpoint): void {
  if (typeof endpoint?.host !== 'string' || !endpoint.host || !Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) {
    throw new ValidationException('endpoint must be {host, port} with port in [1, 65535]');
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ValidationException(message)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
