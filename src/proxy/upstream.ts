// One server connection: TCP to the database, TLS when the target asks for it (upstream-tls.ts),
// log-in with the secret's credentials (SCRAM-SHA-256, md5 or cleartext, whichever the server asks
// for; SCRAM without channel binding: 'n,,'), then raw bytes to whichever client holds it.
import { connect, type Socket } from 'node:net';
import { postgresMd5Response, SCRAM_MECHANISM, ScramClient } from '../crypto/scram-exchange.ts';
import type { Endpoint } from './config.ts';
import { startUpstreamTls, UpstreamTlsError, type UpstreamTls } from './upstream-tls.ts';
import { ReusedReads } from './reused-reads.ts';
import { AUTH, B, FrameReader, parseErrorFields, passwordMessage, query, readCString, saslInitialResponse, saslResponse, startupMessage, terminate, type Message } from './protocol.ts';

/** The server refused or broke the log-in. `sqlstate` is the server's; `auth` when it is a credential failure. */
export class UpstreamError extends Error {
  constructor(message: string, readonly sqlstate: string, readonly auth: boolean) {
    super(message);
    this.name = 'UpstreamError';
  }
}

export interface LoginOptions {
  endpoint: Endpoint;
  user: string;
  password: string;
  database: string;
  connectTimeoutMs: number;
  generation: number;
  /** TLS settings of the target (undefined: plaintext, upstream.tls disable). */
  tls?: UpstreamTls | undefined;
}

const MAX_SERVER_AUTH_MESSAGE = 1 << 20;

export class ServerConn {
  readonly params = new Map<string, string>();
  pid = 0;
  secret = 0;
  readonly createdAt = Date.now();
  lastUsed = Date.now();
  closed = false;
  /** Signature of the client start-up parameters last SET on this connection (client.ts). */
  appliedSig: string | undefined;
  /**
   * Receives every byte from the server while a client holds this connection; returns true when it
   * keeps a reference to the chunk after returning (e.g. a write to the client still queued).
   */
  private sink: ((chunk: Buffer) => boolean) | undefined;
  /** Told when the connection closes while a client holds it (one owner at a time: no listener pile-up). */
  private ownerClosed: ((s: ServerConn) => void) | undefined;
  private reader: FrameReader | undefined;
  private onMessage: ((m: Message) => void) | undefined;
  private onFail: ((e: Error) => void) | undefined;
  private closeListeners: (() => void)[] = [];

  private constructor(readonly socket: Socket, readonly endpoint: Endpoint, readonly generation: number, readonly user: string, readonly tls: UpstreamTls | undefined, private readonly reads: ReusedReads | undefined) {
    socket.setNoDelay(true);
    if (reads) reads.onChunk = (chunk) => this.onData(chunk);
    else socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new UpstreamError('server closed the connection', '08006', false)));
  }

  private onData(chunk: Buffer): void {
    if (this.sink) {
      if (this.sink(chunk) && this.reads) this.reads.kept = true;
      return;
    }
    // log-in and simple queries keep partial frames across reads: a copy of the reused buffer
    if (this.reader) return this.pump(this.reads ? Buffer.from(chunk) : chunk);
    this.close(); // unsolicited bytes on an idle connection (e.g. FATAL from an admin shutdown)
  }

  static async connect(o: LoginOptions): Promise<ServerConn> {
    const where = `${o.endpoint.host}:${o.endpoint.port}`;
    // TLS reads its first byte (the SSLRequest answer) from 'data' events and then wraps the socket: no reused buffer
    const reads = o.tls ? undefined : new ReusedReads();
    let socket: Socket = connect({ host: o.endpoint.host, port: o.endpoint.port, ...(reads ? { onread: reads.option } : {}) });
    let conn: ServerConn | undefined;
    let timedOut: UpstreamError | undefined;
    const timer = setTimeout(() => {
      timedOut = new UpstreamError(`connecting to ${where} timed out`, '08001', false);
      if (conn) conn.fail(timedOut);
      else socket.destroy();
    }, o.connectTimeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
        socket.once('close', () => reject(new Error('connection closed')));
      });
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      if (o.tls) {
        socket.on('error', () => {}); // reported by startUpstreamTls, then by the TLS socket wrapping this one
        socket = await startUpstreamTls(socket, o.tls, o.endpoint.host);
      }
      conn = new ServerConn(socket, o.endpoint, o.generation, o.user, o.tls, reads);
      const login = conn.login(o.user, o.password);
      socket.write(startupMessage({ user: o.user, database: o.database }));
      await login;
      return conn;
    } catch (e) {
      if (conn) conn.close();
      else socket.destroy();
      if (timedOut) throw timedOut;
      if (e instanceof UpstreamError) throw e;
      if (e instanceof UpstreamTlsError) throw new UpstreamError(e.message, '08001', false);
      throw new UpstreamError(`cannot connect to ${where}: ${(e as Error).message}`, '08001', false);
    } finally {
      clearTimeout(timer);
    }
  }

  private login(user: string, password: string): Promise<void> {
    let scram: ScramClient | undefined;
    return this.exchange((m) => {
      switch (m.type) {
        case B.Authentication: {
          const c = m.body.readUInt32BE(0);
          if (c === AUTH.Ok) return false;
          if (c === AUTH.CleartextPassword) this.socket.write(passwordMessage(password));
          else if (c === AUTH.MD5Password) this.socket.write(passwordMessage(postgresMd5Response(user, password, m.body.subarray(4, 8))));
          else if (c === AUTH.SASL) {
            const mechs: string[] = [];
            for (let i = 4; i < m.body.length && m.body[i] !== 0;) {
              const [s, next] = readCString(m.body, i);
              mechs.push(s);
              i = next;
            }
            if (!mechs.includes(SCRAM_MECHANISM)) throw new UpstreamError(`server offers no supported SASL mechanism (${mechs.join(', ')})`, '28000', false);
            scram = new ScramClient(password);
            this.socket.write(saslInitialResponse(SCRAM_MECHANISM, Buffer.from(scram.clientFirst(), 'utf8')));
          } else if (c === AUTH.SASLContinue && scram) this.socket.write(saslResponse(Buffer.from(scram.clientFinal(m.body.toString('utf8', 4)), 'utf8')));
          else if (c === AUTH.SASLFinal && scram) {
            if (!scram.verifyServerFinal(m.body.toString('utf8', 4))) throw new UpstreamError('server SCRAM signature is invalid', '28000', false);
          } else throw new UpstreamError(`unsupported authentication request ${c} from server`, '28000', false);
          return false;
        }
        case B.ParameterStatus: {
          const [k, next] = readCString(m.body, 0);
          this.params.set(k, readCString(m.body, next)[0]);
          return false;
        }
        case B.BackendKeyData:
          this.pid = m.body.readUInt32BE(0);
          this.secret = m.body.readUInt32BE(4);
          return false;
        case B.ReadyForQuery:
          return true;
        default:
          return false; // NoticeResponse, NegotiateProtocolVersion
      }
    });
  }

  /**
   * Reads whole messages until `handle` returns true (after ReadyForQuery). An ErrorResponse
   * rejects: during log-in at once (the server closes), after log-in at the next ReadyForQuery.
   */
  private exchange(handle: (m: Message) => boolean, loggedIn = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let error: UpstreamError | undefined;
      this.reader = new FrameReader(MAX_SERVER_AUTH_MESSAGE);
      this.onFail = (e) => {
        this.reader = undefined;
        reject(error ?? e);
      };
      this.onMessage = (m) => {
        try {
          if (m.type === B.ErrorResponse) {
            const f = parseErrorFields(m.body);
            const code = f.get('C') ?? 'XX000';
            error = new UpstreamError(f.get('M') ?? 'server error', code, code === '28P01' || code === '28000');
            if (!loggedIn) throw error;
            return;
          }
          if (handle(m)) {
            this.reader = undefined;
            this.onFail = undefined;
            if (error) reject(error);
            else resolve();
          }
        } catch (e) {
          this.reader = undefined;
          this.onFail = undefined;
          reject(e);
        }
      };
    });
  }

  private pump(chunk: Buffer): void {
    const r = this.reader!;
    try {
      r.push(chunk);
      for (let m = r.next(); m && this.reader === r; m = r.next()) this.onMessage!(m);
    } catch (e) {
      this.fail(e as Error);
    }
  }

  /** Runs one simple query while no client holds the connection; resolves at ReadyForQuery, rejects on an error. */
  async simpleQuery(sql: string): Promise<void> {
    const done = this.exchange((m) => {
      if (m.type === B.ParameterStatus) {
        const [k, next] = readCString(m.body, 0);
        this.params.set(k, readCString(m.body, next)[0]);
      }
      return m.type === B.ReadyForQuery;
    }, true);
    this.socket.write(query(sql));
    await done;
    this.lastUsed = Date.now();
  }

  attach(sink: (chunk: Buffer) => boolean, onClosed: (s: ServerConn) => void): void {
    this.sink = sink;
    this.ownerClosed = onClosed;
  }

  detach(): void {
    this.sink = undefined;
    this.ownerClosed = undefined;
    this.lastUsed = Date.now();
  }

  write(chunk: Buffer): void {
    this.socket.write(chunk);
  }

  onClose(l: () => void): void {
    this.closeListeners.push(l);
  }

  private fail(e: Error): void {
    const f = this.onFail;
    this.onFail = undefined;
    this.reader = undefined;
    f?.(e);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.socket.destroyed && this.socket.writable) this.socket.end(terminate());
    this.socket.destroySoon?.();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    const owner = this.ownerClosed;
    this.ownerClosed = undefined;
    owner?.(this);
    const ls = this.closeListeners;
    this.closeListeners = [];
    for (const l of ls) l();
  }
}
