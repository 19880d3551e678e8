// A TCP forwarder with a switchable upstream: the stable endpoint of a database instance (src/db).
// It forwards bytes: TLS negotiation and SCRAM authentication happen end to end between the client
// and PostgreSQL, so the client logs in with its own database user and password, and the forwarder
// sees neither. What it adds is the stable address: pause() holds new connections (they wait, up to
// maxPendingMs, while established ones keep flowing), setUpstream() switches where new connections
// go, resume() releases the held ones. That is the primitive a later change-key or failover uses.
// While the upstream is down (instance stopped, key inaccessible) new connections are refused by
// closing them at once.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface Upstream {
  host: string;
  port: number;
}

export interface ForwarderOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  upstream: Upstream | null;
  /** How long a held connection waits for resume() before it is closed (default 30 s). */
  maxPendingMs?: number;
}

export class TcpForwarder {
  private server: Server | null = null;
  private upstream: Upstream | null;
  private paused = false;
  private readonly held = new Set<{ socket: Socket; timer: NodeJS.Timeout }>();
  private readonly open = new Set<Socket>();
  private boundPort = 0;

  constructor(private readonly opts: ForwarderOptions) {
    this.upstream = opts.upstream;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The upstream's port, or null when there is none. */
  get upstreamPort(): number | null {
    return this.upstream?.port ?? null;
  }

  get connections(): number {
    return this.open.size / 2;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.accept(socket));
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        server.on('error', () => {});
        const a = server.address();
        this.boundPort = typeof a === 'object' && a ? a.port : this.opts.port;
        this.server = server;
        resolve(this.boundPort);
      });
    });
  }

  /** New connections wait; established ones continue. */
  pause(): void {
    this.paused = true;
  }

  /** Where new connections go (null: refuse them). Established connections stay where they are. */
  setUpstream(u: Upstream | null): void {
    this.upstream = u;
  }

  resume(): void {
    this.paused = false;
    for (const h of [...this.held]) {
      clearTimeout(h.timer);
      this.held.delete(h);
      this.connect(h.socket);
    }
  }

  /** Closes every established connection (the upstream went away). */
  dropAll(): void {
    for (const s of this.open) s.destroy();
    this.open.clear();
  }

  async close(): Promise<void> {
    for (const h of this.held) {
      clearTimeout(h.timer);
      h.socket.destroy();
    }
    this.held.clear();
    this.dropAll();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  private accept(socket: Socket): void {
    socket.on('error', () => {});
    if (!this.paused) return this.connect(socket);
    socket.pause();
    const h = { socket, timer: setTimeout(() => { this.held.delete(h); socket.destroy(); }, this.opts.maxPendingMs ?? 30_000) };
    socket.once('close', () => { clearTimeout(h.timer); this.held.delete(h); });
    this.held.add(h);
  }

  private connect(client: Socket): void {
    const up = this.upstream;
    if (!up || client.destroyed) {
      client.destroy();
      return;
    }
    const server = createConnection({ host: up.host, port: up.port });
    server.setNoDelay(true);
    client.setNoDelay(true);
    this.open.add(client);
    this.open.add(server);
    const done = () => {
      this.open.delete(client);
      this.open.delete(server);
      client.destroy();
      server.destroy();
    };
    server.on('error', done);
    client.on('error', done);
    server.on('close', done);
    client.on('close', done);
    client.pipe(server);
    server.pipe(client);
    client.resume();
  }
}
