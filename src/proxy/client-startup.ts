// Start-up and authentication of one client connection, the first phase of ClientConn (client.ts,
// which adds the data path): start-up packets, SSL/GSSENC requests, CancelRequest routing, then
// SCRAM-SHA-256 or (TLS; auth iam / password+iam) a cleartext password, with an explicit state
// machine. When the client is authenticated, login(secretId) hands over to the data path.
//
//   startup --SSLRequest--> startup ('N' or TLS)      startup --GSSENCRequest--> startup ('N')
//   startup --CancelRequest--> closed (routed)        startup --StartupMessage--> auth-initial
//   auth-initial --SASLInitialResponse--> auth-final --SASLResponse ok--> login (client.ts)
//   startup --StartupMessage (TLS; auth iam / password+iam)--> auth-password --PasswordMessage ok--> login
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { scramServerFinal, scramServerFirst, ScramProtocolError, type ScramServerState } from '../crypto/scram-exchange.ts';
import { MAX_AUTH_MESSAGE, PARAM_NAME, RESERVED_PARAMS, type ClientContext, type ClientState, type LoginMaterial } from './client-context.ts';
import { checkCleartext } from './client-auth.ts';
import { ReusedReads, withReusedReads } from './reused-reads.ts';
import { AUTH, F, FrameReader, ProtocolViolation, authentication, authenticationSASL, negotiateProtocolVersion, parseStartup, readCString } from './protocol.ts';

export abstract class ClientStartup {
  state: ClientState = 'startup';
  protected reader = new FrameReader(MAX_AUTH_MESSAGE);
  protected user = '';
  protected database = '';
  /** Start-up parameters the client asked for (SET on the server connections it is given). */
  protected wanted = new Map<string, string>();
  protected wantedSig = '';
  /** The authentication deadline, then (client.ts) the idle-session timer. */
  protected timer: NodeJS.Timeout | undefined;
  protected tlsDone = false;
  private material: LoginMaterial | undefined;
  private scram: ScramServerState | undefined;
  private materialReady: Promise<unknown> = Promise.resolve();
  readonly remote: string;

  constructor(protected socket: Socket, protected readonly ctx: ClientContext) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    this.listen(socket);
    this.timer = setTimeout(() => this.fatal('08006', 'authentication timed out'), ctx.cfg.authTimeoutMs);
  }

  /** Data path (client.ts): bytes from an authenticated, ready client; true when it keeps the chunk past the call (its write to the server queued). */
  protected abstract forward(chunk: Buffer): boolean;
  /** After authentication: a server connection or the pool's parameters, then ReadyForQuery (client.ts). */
  protected abstract login(secretId: string): Promise<void>;
  /** Sends a FATAL ErrorResponse (when the socket still takes bytes) and closes. */
  abstract fatal(sqlstate: string, message: string, brokenFrame?: boolean): void;
  abstract close(brokenFrame?: boolean): void;

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.watch(socket);
  }

  /** An error or close of the client's socket closes the client. */
  private watch(socket: Socket): void {
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  /** True when the chunk is kept past the call (reused-reads.ts: the next read then gets a fresh buffer). */
  private onData(chunk: Buffer): boolean {
    try {
      if (this.state === 'ready') return this.forward(chunk);
      if (this.state === 'login') {
        this.reader.push(chunk); // held until the login finishes
        if (this.reader.buffered > this.ctx.cfg.maxMessageBytes + 5) throw new ProtocolViolation('too much data before the login finished', '54000');
        return true;
      }
      if (this.state === 'closed') return false;
      this.reader.push(chunk);
      this.handshake();
      return true;
    } catch (e) {
      if (e instanceof ProtocolViolation) this.fatal(e.sqlstate, e.message, true);
      else if (e instanceof ScramProtocolError) this.fatal('08P01', e.message);
      else this.internal(e);
      return false;
    }
  }

  /**
   * From ready on, a plaintext client's reads land in one reused buffer (reused-reads.ts), as a
   * server connection's do. A TLS client keeps its TLSSocket's reads.
   */
  protected readReused(): void {
    if (this.tlsDone) return;
    const reads = new ReusedReads();
    const socket = withReusedReads(this.socket, reads);
    if (!socket) return;
    reads.onChunk = (chunk) => {
      if (this.onData(chunk)) reads.kept = true;
    };
    this.socket = socket;
    this.watch(socket);
  }

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

  /** An unexpected error: details to the operator's log, 'internal error' to the client. */
  protected internal(e: unknown): void {
    this.ctx.log?.(e);
    this.fatal('XX000', 'internal error in the proxy');
  }
}
