// One client connection: start-up and SCRAM authentication with an explicit state machine, then the
// data path (messages scanned, bytes forwarded in chunks) between the client and the server
// connection it holds (for the session in session mode, per transaction in transaction mode).
//
//   startup --SSLRequest--> startup ('N' or TLS)      startup --GSSENCRequest--> startup ('N')
//   startup --CancelRequest--> closed (routed)        startup --StartupMessage--> auth-initial
//   auth-initial --SASLInitialResponse--> auth-final --SASLResponse ok--> login --server ready--> ready
//   startup --StartupMessage (TLS; auth iam / password+iam)--> auth-password --PasswordMessage ok--> login
//   ready <--> (idle | query | copy-in | copy-out, tracked from the server's messages)
//   any --malformed frame / timeout / error--> closed (ErrorResponse first where possible)
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { scramServerFinal, scramServerFirst, ScramProtocolError, type ScramServerState } from '../crypto/scram-exchange.ts';
import { CLIENT_CAPTURE, MAX_AUTH_MESSAGE, PARAM_NAME, RESERVED_PARAMS, SERVER_CAPTURE, type ClientContext, type ClientState, type LoginMaterial, type ServerPhase } from './client-context.ts';
import { checkCleartext } from './client-auth.ts';
import { isPinningQuery } from './pinning.ts';
import { PoolError, type Pool, type PoolClient } from './pool.ts';
import {
  AUTH, B, F, FRONTEND_TYPES, FrameReader, MessageScanner, ProtocolViolation, authentication, authenticationSASL,
  backendKeyData, errorResponse, negotiateProtocolVersion, parameterStatus, parseStartup, readCString, readyForQuery,
} from './protocol.ts';
import { UpstreamError, type ServerConn } from './upstream.ts';

export class ClientConn implements PoolClient {
  state: ClientState = 'startup';
  phase: ServerPhase = 'idle';
  private reader = new FrameReader(MAX_AUTH_MESSAGE);
  private scanner: MessageScanner;
  private serverScanner: MessageScanner;
  private user = '';
  private database = '';
  private wanted = new Map<string, string>();
  private wantedSig = '';
  private material: LoginMaterial | undefined;
  private scram: ScramServerState | undefined;
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
  private timer: NodeJS.Timeout | undefined;
  private tlsDone = false;
  readonly remote: string;

  constructor(private socket: Socket, private readonly ctx: ClientContext) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    this.scanner = new MessageScanner({ maxLength: ctx.cfg.maxMessageBytes, capture: CLIENT_CAPTURE, known: FRONTEND_TYPES }, (t, b) => this.onClientMessage(t, b));
    this.serverScanner = new MessageScanner({ maxLength: 0x7ffffffb, capture: SERVER_CAPTURE }, (t, b) => this.onServerMessage(t, b));
    this.listen(socket);
    this.timer = setTimeout(() => this.fatal('08006', 'authentication timed out'), ctx.cfg.authTimeoutMs);
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  /** A transaction or query of this client is in flight (pause waits for it). */
  get busy(): boolean {
    // mid-message counts: the server already has the first bytes of a message whose rest must follow
    return this.server !== undefined && (this.pending > 0 || this.tx !== 'I' || this.unsynced || !this.scanner.atBoundary);
  }

  private onData(chunk: Buffer): void {
    try {
      if (this.state === 'ready') return this.forward(chunk);
      if (this.state === 'login') {
        this.reader.push(chunk); // held until the login finishes
        if (this.reader.buffered > this.ctx.cfg.maxMessageBytes + 5) throw new ProtocolViolation('too much data before the login finished', '54000');
        return;
      }
      if (this.state === 'closed') return;
      this.reader.push(chunk);
      this.handshake();
    } catch (e) {
      if (e instanceof ProtocolViolation) return this.fatal(e.sqlstate, e.message, true);
      if (e instanceof ScramProtocolError) return this.fatal('08P01', e.message);
      this.internal(e);
    }
  }

  // ---- start-up and authentication

  private handshake(): void {
    while (this.state === 'startup' || this.state === 'auth-initial' || this.state === 'auth-final' || this.state === 'auth-password') {
      if (this.state === 'startup') {
        const body = this.reader.nextStartup();
        if (!body) return;
        const p = parseStartup(body);
        if (p.kind === 'ssl') {
          // "To initiate an SSL-encrypted connection, the frontend initially sends an SSLRequest message
          //  ... The server then responds with a single byte containing S or N". Bytes sent after the
          //  request before the answer would be unencrypted data (PostgreSQL rejects them: CVE-2021-23214).
          if (this.reader.buffered > 0) throw new ProtocolViolation('received unencrypted data after SSL request');
          if (this.ctx.tls && !this.tlsDone) return this.startTls(this.ctx.tls);
          this.socket.write('N');
          continue;
        }
        if (p.kind === 'gssenc') {
          this.socket.write('N'); // GSSAPI encryption is not offered: the client may go on in the clear or with SSL
          continue;
        }
        if (p.kind === 'cancel') {
          this.ctx.cancel(p.pid, p.secret);
          return this.close(); // "the server ... closes the connection" without a reply
        }
        this.startup(p.minor, p.params, p.unsupportedOptions);
        return;
      }
      const m = this.reader.next();
      if (!m) return;
      if (m.type !== F.Password) throw new ProtocolViolation(`expected ${this.state === 'auth-password' ? 'password' : 'SASL'} response, got message type ${m.type}`);
      if (this.state === 'auth-password') void this.cleartext(m.body);
      else if (this.state === 'auth-initial') this.saslInitial(m.body);
      else void this.saslFinal(m.body);
    }
  }

  private startTls(context: SecureContext): void {
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('error');
    this.socket.removeAllListeners('close');
    this.socket.write('S');
    const tls = new TLSSocket(this.socket, { isServer: true, secureContext: context });
    this.socket = tls;
    this.tlsDone = true;
    this.listen(tls);
  }

  private startup(minor: number, params: Map<string, string>, unsupported: string[]): void {
    const user = params.get('user');
    if (!user) return this.fatal('28000', 'no PostgreSQL user name specified in startup packet');
    this.user = user;
    this.database = params.get('database') || user;
    if (params.has('replication')) return this.fatal('0A000', 'replication connections are not supported by the rekey proxy');
    if (params.has('options')) return this.fatal('0A000', 'the startup parameter "options" is not supported by the rekey proxy (use SET)');
    for (const [k, v] of params) {
      if (RESERVED_PARAMS.has(k)) continue;
      if (!PARAM_NAME.test(k) || this.wanted.size >= 64) return this.fatal('08P01', `invalid startup parameter name`);
      this.wanted.set(k, v);
    }
    this.wantedSig = [...this.wanted].map(([k, v]) => `${k}=${v}`).join('\0');
    if (this.ctx.cfg.requireTls && !this.tlsDone) {
      this.ctx.authEvent({ user, database: this.database, remote: this.remote, ok: false, method: 'none', tls: false, reason: 'TLS required' });
      return this.fatal('28000', 'the rekey proxy requires TLS for this target (connect with sslmode=require)');
    }
    // "NegotiateProtocolVersion ... sent when the client requests a newer minor protocol version or
    //  unrecognized protocol options": answered before authentication, as PostgreSQL does.
    if (minor > 0 || unsupported.length > 0) this.socket.write(negotiateProtocolVersion(unsupported));
    const auth = this.ctx.cfg.auth;
    if (auth === 'iam' && !this.tlsDone) {
      // the token is a bearer credential: never asked for in the clear
      this.ctx.authEvent({ user, database: this.database, remote: this.remote, ok: false, method: 'iam', tls: false, reason: 'TLS required for IAM authentication' });
      return this.fatal('28000', 'IAM authentication requires TLS: connect to the rekey proxy with sslmode=require');
    }
    this.materialReady = this.ctx.loginMaterial(user).then((m) => (this.material = m), () => undefined);
    if (auth !== 'password' && this.tlsDone) {
      this.state = 'auth-password';
      this.socket.write(authentication(AUTH.CleartextPassword));
      return;
    }
    this.state = 'auth-initial';
    // keys are looked up (above) while the client computes its first message
    this.socket.write(authenticationSASL(['SCRAM-SHA-256']));
  }

  /** PasswordMessage over TLS: an IAM token or (password+iam) the secret's password. */
  private async cleartext(body: Buffer): Promise<void> {
    this.state = 'login';
    const end = body.indexOf(0);
    if (end !== body.length - 1) return this.fatal('08P01', 'malformed password message');
    const password = body.toString('utf8', 0, end);
    await this.materialReady;
    if (this.state !== 'login') return;
    const ip = this.remote.slice(0, this.remote.lastIndexOf(':'));
    const r = await checkCleartext(this.ctx, this.user, password, this.material, ip).catch((e: unknown) => (this.internal(e), undefined));
    if (!r) return;
    if (this.state !== 'login') return;
    const facts = { user: this.user, database: this.database, remote: this.remote, method: r.method, tls: true };
    if (!r.ok) {
      this.ctx.authEvent({ ...facts, ok: false, reason: r.reason });
      return this.fatal(r.sqlstate, r.message);
    }
    this.socket.write(authentication(AUTH.Ok));
    this.ctx.authEvent({ ...facts, ok: true, ...(r.principalArn ? { principalArn: r.principalArn } : {}) });
    await this.login(r.secretId);
  }

  private materialReady: Promise<unknown> = Promise.resolve();

  private saslInitial(body: Buffer): void {
    const [mech, off] = readCString(body, 0);
    if (mech !== 'SCRAM-SHA-256') throw new ProtocolViolation('requested SASL mechanism is not supported', '28000');
    if (off + 4 > body.length) throw new ProtocolViolation('malformed SASLInitialResponse');
    const len = body.readInt32BE(off);
    if (len < 0 || off + 4 + len !== body.length) throw new ProtocolViolation('malformed SASLInitialResponse');
    const clientFirst = body.toString('utf8', off + 4);
    this.state = 'auth-final';
    void this.materialReady.then(() => {
      if (this.state !== 'auth-final') return;
      try {
        const salt = this.material?.salt ?? this.ctx.mockSalt(this.user);
        this.scram = scramServerFirst(clientFirst, salt, this.material?.iterations ?? 4096);
        this.socket.write(authentication(AUTH.SASLContinue, Buffer.from(this.scram.serverFirst, 'utf8')));
        this.handshake(); // the client may already have answered
      } catch (e) {
        this.fatal('08P01', e instanceof ScramProtocolError ? e.message : 'malformed SCRAM message');
      }
    });
  }

  private async saslFinal(body: Buffer): Promise<void> {
    // the client answers server-first, so it cannot send this before we did
    if (!this.scram) throw new ProtocolViolation('SASLResponse before the SASL exchange started');
    this.state = 'login';
    const res = scramServerFinal(this.scram, body.toString('utf8'), this.material?.candidates ?? [this.ctx.mockKeys]);
    if (!res || !this.material) {
      this.ctx.authEvent({ user: this.user, database: this.database, remote: this.remote, ok: false, method: 'scram', tls: this.tlsDone, reason: 'password authentication failed' });
      return this.fatal('28P01', `password authentication failed for user "${this.user}"`);
    }
    this.socket.write(Buffer.concat([authentication(AUTH.SASLFinal, Buffer.from(res.serverFinal, 'utf8')), authentication(AUTH.Ok)]));
    this.ctx.authEvent({ user: this.user, database: this.database, remote: this.remote, ok: true, method: 'scram', tls: this.tlsDone });
    await this.login(this.material.secretId);
  }

  /** After authentication: a server (session mode) or the pool's parameters, then ReadyForQuery. */
  private async login(secretId: string): Promise<void> {
    const pool = this.ctx.pool(this.database, this.user, secretId);
    this.pool = pool;
    let params = pool.lastParams;
    try {
      if (this.ctx.cfg.mode === 'session' || !params) {
        await this.ctx.cutover.gate();
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
    this.socket.write(Buffer.concat(out));
    this.ctx.cutover.clients.add(this);
    this.state = 'ready';
    this.armIdleTimer();
    const rest = this.reader.takeRest();
    if (rest.length > 0) this.forward(rest);
  }

  // ---- data path

  private forward(chunk: Buffer): void {
    const wasBusy = this.busy;
    this.chunkPending = 0;
    this.chunkUnsynced = undefined;
    const stop = this.scanner.scan(chunk);
    const data = stop >= 0 ? chunk.subarray(0, stop) : chunk;
    if (data.length > 0) {
      if (this.queue.length === 0 && this.server && (wasBusy || (!this.ctx.cutover.paused && this.server.generation === this.ctx.cutover.generation))) {
        this.pending += this.chunkPending;
        if (this.chunkUnsynced !== undefined) this.unsynced = this.chunkUnsynced;
        this.write(this.server, data);
      } else {
        // counted when sent: queued data is not in flight (pause must not wait for it)
        this.queue.push(data);
        this.queuedPending += this.chunkPending;
        if (this.chunkUnsynced !== undefined) this.queuedUnsynced = this.chunkUnsynced;
        if (!this.acquiring) void this.acquire();
      }
    }
    if (stop >= 0) this.close(); // Terminate
    else this.armIdleTimer();
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

  /** To the server, with backpressure: a server that stops reading (e.g. a large COPY) pauses the client. */
  private write(s: ServerConn, data: Buffer): void {
    if (s.socket.write(data)) return;
    this.socket.pause();
    s.socket.once('drain', () => this.socket.resume());
  }

  /** Gets a server for queued data: waits while paused, replaces a server of an older generation. */
  private async acquire(): Promise<void> {
    this.acquiring = true;
    try {
      // Queued data always starts where no transaction was open (else it went straight through):
      // this is a transaction boundary, where pause holds it and a switch may change the server.
      while (this.queue.length > 0 && this.state === 'ready') {
        if (this.ctx.cutover.paused) {
          const t0 = Date.now();
          await this.ctx.cutover.gate();
          this.ctx.cutover.noteStall(Date.now() - t0);
        }
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
    s.attach(
      (chunk) => this.onServerData(chunk),
      () => {
        if (this.server === s) this.fatal('08006', 'server connection lost');
      },
    );
  }

  private detach(): void {
    const s = this.server;
    this.server = undefined;
    if (s?.socket.isPaused()) s.socket.resume();
  }

  private onServerData(chunk: Buffer): void {
    try {
      this.serverScanner.scan(chunk);
    } catch {
      return this.fatal('08P01', 'malformed message from the server');
    }
    if (!this.socket.write(chunk)) {
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

  private internal(e: unknown): void {
    this.ctx.log?.(e);
    this.fatal('XX000', 'internal error in the proxy');
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

