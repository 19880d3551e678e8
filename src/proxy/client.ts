// One client connection: the start-up and authentication phase (client-startup.ts), then the data
// path (messages scanned, bytes forwarded in chunks) between the client and the server connection
// it holds (for the session in session mode, per transaction in transaction mode).
//
//   ... start-up and authentication (client-startup.ts) --> login --server ready--> ready
//   ready <--> (idle | query | copy-in | copy-out, tracked from the server's messages)
//   any --malformed frame / timeout / error--> closed (ErrorResponse first where possible)
import type { Socket } from 'node:net';
import { CLIENT_CAPTURE, SERVER_CAPTURE, type ClientContext, type ServerPhase } from './client-context.ts';
import { ClientStartup } from './client-startup.ts';
import { isPinningQuery } from './pinning.ts';
import { PoolError, type Pool, type PoolClient } from './pool.ts';
import { B, F, FRONTEND_TYPES, MessageScanner, backendKeyData, errorResponse, parameterStatus, readCString, readyForQuery } from './protocol.ts';
import { UpstreamError, type ServerConn } from './upstream.ts';

export class ClientConn extends ClientStartup implements PoolClient {
  phase: ServerPhase = 'idle';
  private scanner: MessageScanner;
  private serverScanner: MessageScanner;
  private pool: Pool | undefined;
  server: ServerConn | undefined;
  private queue: Buffer[] = [];
  private acquiring = false;
  /** Queries + Syncs + FunctionCalls sent to the server and not yet answered by ReadyForQuery. */
  private pending = 0;
  /** Extended-protocol messages sent since the last Sync. */
  private unsynced = false;
  private tx: 'I' | 'T' | 'E' = 'I';
  private chunkPending = 0;
  private chunkUnsynced: boolean | undefined;
  private queuedPending = 0;
  private queuedUnsynced: boolean | undefined;
  pinned: string | undefined;
  private key: { pid: number; secret: number } | undefined;

  constructor(socket: Socket, ctx: ClientContext) {
    super(socket, ctx);
    this.scanner = new MessageScanner({ maxLength: ctx.cfg.maxMessageBytes, capture: CLIENT_CAPTURE, known: FRONTEND_TYPES }, (t, b) => this.onClientMessage(t, b));
    this.serverScanner = new MessageScanner({ maxLength: 0x7ffffffb, capture: SERVER_CAPTURE }, (t, b) => this.onServerMessage(t, b));
  }

  // made once per client, not per attach (transaction mode attaches a server per transaction)
  private readonly serverSink = (chunk: Buffer): boolean => this.onServerData(chunk);
  private readonly serverLost = (s: ServerConn): void => {
    if (this.server === s) this.fatal('08006', 'server connection lost');
  };

  /** A transaction or query of this client is in flight (pause waits for it). */
  get busy(): boolean {
    // mid-message counts: the server already has the first bytes of a message whose rest must follow
    return this.server !== undefined && (this.pending > 0 || this.tx !== 'I' || this.unsynced || !this.scanner.atBoundary);
  }

  /** The secret whose credentials this client logged in with (after authentication). */
  get loginSecretId(): string | undefined {
    return this.loggedInWith;
  }

  private loggedInWith: string | undefined;

  /** After authentication: a server (session mode) or the pool's parameters, then ReadyForQuery. */
  protected async login(secretId: string): Promise<void> {
    this.loggedInWith = secretId;
    const pool = this.ctx.pool(this.database, this.user, secretId);
    this.pool = pool;
    let params = pool.lastParams;
    try {
      if (this.ctx.cfg.mode === 'session' || !params) {
        await this.ctx.cutover.hold();
        const s = pool.tryTake() ?? (await pool.borrow());
        if (this.state === 'closed') return pool.release(s);
        params = s.params;
        if (this.ctx.cfg.mode === 'session') {
          await this.applyParams(s);
          this.attach(s);
        } else pool.release(s);
      }
    } catch (e) {
      return this.failServer(e);
    }
    if (this.state === 'closed') return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.key = this.ctx.registerCancel(this);
    const out: Buffer[] = [];
    const lower = new Map([...this.wanted].map(([k, v]) => [k.toLowerCase(), v]));
    for (const [k, v] of params!) out.push(parameterStatus(k, lower.get(k.toLowerCase()) ?? v));
    out.push(backendKeyData(this.key.pid, this.key.secret), readyForQuery('I'));
    this.readReused(); // before the write below, so the old socket has nothing queued
    this.socket.write(Buffer.concat(out));
    this.ctx.cutover.clients.add(this);
    this.state = 'ready';
    this.armIdleTimer();
    const rest = this.reader.takeRest();
    if (rest.length > 0) this.forward(rest);
  }

  // ---- data path

  protected forward(chunk: Buffer): boolean {
    const wasBusy = this.busy;
    let kept = false;
    this.chunkPending = 0;
    this.chunkUnsynced = undefined;
    const stop = this.scanner.scan(chunk);
    const data = stop >= 0 ? chunk.subarray(0, stop) : chunk;
    if (data.length > 0) {
      if (stop < 0 && !this.server && this.queue.length === 0 && !this.acquiring && !this.ctx.cutover.paused) this.takeIdleServer();
      if (this.queue.length === 0 && this.server && (wasBusy || (!this.ctx.cutover.paused && this.server.generation === this.ctx.cutover.generation))) {
        this.pending += this.chunkPending;
        if (this.chunkUnsynced !== undefined) this.unsynced = this.chunkUnsynced;
        kept = this.write(this.server, data);
      } else {
        // counted when sent: queued data is not in flight (pause must not wait for it). A copy: the
        // chunk may be a view of the reused read buffer, and keeping it would cost the next read a
        // fresh 64 KiB buffer (in transaction mode with more clients than servers, most queries queue)
        this.queue.push(Buffer.from(data));
        this.queuedPending += this.chunkPending;
        if (this.chunkUnsynced !== undefined) this.queuedUnsynced = this.chunkUnsynced;
        if (!this.acquiring) void this.acquire();
      }
    }
    if (stop >= 0) this.close(); // Terminate
    else this.armIdleTimer();
    return kept;
  }

  private onClientMessage(type: number, body: Buffer): boolean {
    switch (type) {
      case F.Query:
        this.chunkPending++;
        this.chunkUnsynced = false;
        if (this.ctx.cfg.mode === 'transaction' && !this.pinned) {
          const why = isPinningQuery(body);
          if (why) this.pinned = why;
        }
        return false;
      case F.Sync:
      case F.FunctionCall:
        this.chunkPending++;
        this.chunkUnsynced = false;
        return false;
      case F.Parse:
        this.chunkUnsynced = true;
        // a named prepared statement lives in the server session: pin
        if (this.ctx.cfg.mode === 'transaction' && !this.pinned && body[0] !== 0) this.pinned = 'named prepared statement';
        return false;
      case F.Terminate:
        return true;
      default: // Bind, Describe, Execute, Close, Flush
        this.chunkUnsynced = true;
        return false;
    }
  }

  /**
   * To the server, with backpressure: a server that stops reading (e.g. a large COPY) pauses the
   * client. True when the write is queued (it keeps `data`).
   */
  private write(s: ServerConn, data: Buffer): boolean {
    if (s.socket.write(data)) return s.socket.writableLength > 0;
    this.socket.pause();
    s.socket.once('drain', () => this.socket.resume());
    return true;
  }

  /**
   * Transaction mode's hand-off without a promise: an idle server whose parameters already match is
   * attached at once (else it goes back, and acquire() borrows and sets parameters as usual).
   */
  private takeIdleServer(): void {
    const s = this.pool?.tryTake();
    if (!s) return;
    if (s.appliedSig !== this.wantedSig && this.wanted.size > 0) return this.pool!.release(s);
    this.attach(s);
  }

  /** Gets a server for queued data: waits while paused, replaces a server of an older generation. */
  private async acquire(): Promise<void> {
    this.acquiring = true;
    try {
      // Queued data always starts where no transaction was open (else it went straight through):
      // this is a transaction boundary, where pause holds it and a switch may change the server.
      while (this.queue.length > 0 && this.state === 'ready') {
        if (this.ctx.cutover.paused) await this.ctx.cutover.hold();
        if (this.state !== 'ready') return;
        if (this.server && this.server.generation !== this.ctx.cutover.generation) {
          // switched: session state on the old server does not follow (documented in docs/PROXY.md)
          const old = this.server;
          this.detach();
          this.pool!.release(old, { broken: true });
        }
        if (!this.server) {
          const s = this.pool!.tryTake() ?? (await this.pool!.borrow());
          if (this.state !== 'ready') return this.pool!.release(s);
          await this.applyParams(s);
          if (this.state !== 'ready') return this.pool!.release(s);
          this.attach(s);
        }
        const data = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue);
        this.queue = [];
        this.pending += this.queuedPending;
        if (this.queuedUnsynced !== undefined) this.unsynced = this.queuedUnsynced;
        this.queuedPending = 0;
        this.queuedUnsynced = undefined;
        this.write(this.server!, data);
      }
    } catch (e) {
      this.failServer(e);
    } finally {
      this.acquiring = false;
    }
  }

  /** Sets the client's start-up parameters on a server whose values differ. */
  private async applyParams(s: ServerConn): Promise<void> {
    if (s.appliedSig === this.wantedSig || this.wanted.size === 0) return;
    const lower = new Map([...s.params].map(([k, v]) => [k.toLowerCase(), v]));
    const sets: string[] = [];
    // names match PARAM_NAME (checked at start-up); values as escape strings, whatever standard_conforming_strings says
    for (const [k, v] of this.wanted) if (lower.get(k.toLowerCase()) !== v || !s.params.size) sets.push(`SET ${k} TO E'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
    if (sets.length > 0) await s.simpleQuery(sets.join('; '));
    s.appliedSig = this.wantedSig;
  }

  private attach(s: ServerConn): void {
    this.server = s;
    s.attach(this.serverSink, this.serverLost);
  }

  private detach(): void {
    const s = this.server;
    this.server = undefined;
    if (s?.socket.isPaused()) s.socket.resume();
  }

  /** Server bytes to the client; true when the client socket still holds the chunk (its write is queued). */
  private onServerData(chunk: Buffer): boolean {
    try {
      this.serverScanner.scan(chunk);
    } catch {
      this.fatal('08P01', 'malformed message from the server');
      return false;
    }
    const flushed = this.socket.write(chunk);
    const kept = this.socket.writableLength > 0;
    if (!flushed) {
      const s = this.server!;
      s.socket.pause();
      this.socket.once('drain', () => {
        if (this.server === s) s.socket.resume();
      });
    }
    // transaction mode: the server goes back after the last answer of an idle (no transaction) exchange
    // (found by the fuzz test: a Query followed by the first bytes of another message must keep its server)
    if (this.ctx.cfg.mode === 'transaction' && !this.pinned && this.queue.length === 0 && this.serverScanner.atBoundary && !this.busy) {
      const s = this.server!;
      this.detach();
      this.pool!.release(s);
    }
    return kept;
  }

  private onServerMessage(type: number, body: Buffer): boolean {
    if (type === B.ReadyForQuery) {
      // "ReadyForQuery ... Current backend transaction status indicator. Possible values are 'I' if
      //  idle (not in a transaction block); 'T' if in a transaction block; or 'E' if in a failed
      //  transaction block"
      this.tx = body[0] === 0x54 ? 'T' : body[0] === 0x45 ? 'E' : 'I';
      if (this.pending > 0) this.pending--;
      this.phase = 'idle';
    } else if (type === B.ParameterStatus) {
      const [k, next] = readCString(body, 0);
      this.server?.params.set(k, readCString(body, next)[0]);
    } else if (type === 0x47) this.phase = 'copy-in'; // CopyInResponse
    else if (type === 0x48) this.phase = 'copy-out'; // CopyOutResponse
    else if (type === 0x57) this.phase = 'copy-in'; // CopyBothResponse
    return false;
  }

  private armIdleTimer(): void {
    const ms = this.ctx.cfg.clientIdleTimeoutMs;
    if (ms <= 0) return;
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => (this.busy ? this.armIdleTimer() : this.fatal('57P05', 'terminating connection due to idle-session timeout')), ms);
  }

  private failServer(e: unknown): void {
    if (e instanceof PoolError || e instanceof UpstreamError) return this.fatal(e instanceof UpstreamError && e.auth ? '08006' : e.sqlstate, e instanceof UpstreamError ? `cannot log in to the database: ${e.message}` : e.message);
    this.internal(e);
  }


  /** Sends a FATAL ErrorResponse (when the socket still takes bytes) and closes. */
  fatal(sqlstate: string, message: string, brokenFrame = false): void {
    if (this.state === 'closed') return;
    if (this.socket.writable) this.socket.write(errorResponse('FATAL', sqlstate, message));
    this.close(brokenFrame);
  }

  close(brokenFrame = false): void {
    if (this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.state = 'closed';
    clearTimeout(this.timer);
    if (this.key) this.ctx.unregisterCancel(this.key.pid);
    this.ctx.cutover.clients.delete(this);
    const s = this.server;
    if (s) {
      const broken = brokenFrame || !wasReady || this.busy || this.scanner.stoppedSplit || !this.scanner.atBoundary;
      this.detach();
      this.pool!.release(s, { broken, reset: this.ctx.cfg.mode === 'session' || this.pinned !== undefined });
    }
    this.socket.end();
    this.socket.destroySoon?.();
    this.ctx.closed(this);
  }
}

