// Syslog sink for SIEMs: RFC 5424 messages over TCP with octet-counting framing (RFC 6587 §3.4.1:
// "MSG-LEN SP SYSLOG-MSG"), so a message may contain newlines and framing never depends on content.
//
// A forwarder, not a durable sink: TCP syslog has no application acknowledgement, so a message
// written to the socket may still be lost with the connection. Requests therefore never wait for
// syslog. Messages queue while disconnected (bounded; the oldest are dropped past maxQueue) and the
// sink reconnects with exponential backoff. A SIEM sees any loss as a gap in `seq`, which is exactly
// what the chain is for.
import { connect, type Socket } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { type AuditSink, type SinkBatch } from './types.ts';

export interface SyslogSinkOptions {
  host: string;
  port: number;
  /** RFC 5424 facility (default 13, "log audit"). */
  facility?: number;
  hostname?: string;
  appName?: string;
  /** Queued messages kept while disconnected (default 10000). */
  maxQueue?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Told about connection errors (never about content). */
  onError?: (err: Error) => void;
}

const SEVERITY_NOTICE = 5;
const SEVERITY_INFO = 6;

/** RFC 5424 header fields are PRINTUSASCII without spaces, with length limits; "-" means nil. */
function headerField(s: string, max: number): string {
  const v = s.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return v.length > 0 ? v : '-';
}

/** One RFC 5424 message (no structured data; the JSON record is the MSG) in octet-counting framing. */
export function frameSyslog(o: { facility: number; severity: number; time: Date; hostname: string; appName: string; procId: string; msgId: string; msg: string }): Buffer {
  const pri = o.facility * 8 + o.severity;
  const line = `<${pri}>1 ${o.time.toISOString()} ${headerField(o.hostname, 255)} ${headerField(o.appName, 48)} ${headerField(o.procId, 128)} ${headerField(o.msgId, 32)} - ${o.msg}`;
  const body = Buffer.from(line, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

export class SyslogSink implements AuditSink {
  readonly name: string;
  readonly durable = false;
  private readonly queue: Buffer[] = [];
  private socket: Socket | null = null;
  private connected = false;
  private waitingDrain = false;
  private timer: NodeJS.Timeout | null = null;
  private backoff: number;
  private closed = false;
  /** Messages dropped because the queue was full. */
  dropped = 0;
  /** Messages handed to the socket. */
  sent = 0;

  constructor(private readonly opts: SyslogSinkOptions) {
    this.name = `syslog:${opts.host}:${opts.port}`;
    this.backoff = opts.reconnectMinMs ?? 100;
    this.connect();
  }

  write(batch: SinkBatch): Promise<void> {
    const base = { facility: this.opts.facility ?? 13, hostname: this.opts.hostname ?? osHostname(), appName: this.opts.appName ?? 'rekey', procId: String(process.pid) };
    batch.records.forEach((r, i) => {
      this.enqueue(frameSyslog({ ...base, severity: r.event.errorCode ? SEVERITY_NOTICE : SEVERITY_INFO, time: new Date(), msgId: 'audit', msg: batch.lines[i]! }));
    });
    if (batch.digest) this.enqueue(frameSyslog({ ...base, severity: SEVERITY_NOTICE, time: new Date(), msgId: 'digest', msg: JSON.stringify({ digest: batch.digest }) }));
    this.pump();
    return Promise.resolve();
  }

  /**
   * Sends one message that is not an audit record (an alarm notification, src/alarms) over the same
   * connection, queue and reconnects: severity 0-7, msgId a short ASCII tag, msg one line of text.
   */
  send(msgId: string, severity: number, msg: string): void {
    this.enqueue(frameSyslog({ facility: this.opts.facility ?? 13, hostname: this.opts.hostname ?? osHostname(), appName: this.opts.appName ?? 'rekey', procId: String(process.pid), severity, time: new Date(), msgId, msg }));
    this.pump();
  }

  private enqueue(frame: Buffer): void {
    if (this.queue.length >= (this.opts.maxQueue ?? 10000)) {
      this.queue.shift();
      this.dropped++;
    }
    this.queue.push(frame);
  }

  private connect(): void {
    if (this.closed) return;
    const s = connect({ host: this.opts.host, port: this.opts.port });
    this.socket = s;
    s.setNoDelay(true);
    s.setKeepAlive(true, 30_000);
    s.on('connect', () => {
      this.connected = true;
      this.backoff = this.opts.reconnectMinMs ?? 100;
      this.pump();
    });
    s.on('drain', () => {
      this.waitingDrain = false;
      this.pump();
    });
    s.on('error', (err) => this.opts.onError?.(err));
    s.on('close', () => {
      this.connected = false;
      this.waitingDrain = false;
      this.socket = null;
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, this.backoff);
    this.timer.unref();
    this.backoff = Math.min(this.backoff * 2, this.opts.reconnectMaxMs ?? 30_000);
  }

  private pump(): void {
    const s = this.socket;
    if (!s || !this.connected || this.waitingDrain) return;
    while (this.queue.length > 0) {
      const frame = this.queue.shift()!;
      this.sent++;
      if (!s.write(frame)) {
        this.waitingDrain = true;
        return;
      }
    }
  }

  /** Resolves once the queue is written to the socket, after timeoutMs, or at once when disconnected. */
  async flush(timeoutMs = 2000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((this.queue.length > 0 || this.waitingDrain) && this.connected && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  async close(): Promise<void> {
    await this.flush(1000);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const s = this.socket;
    this.socket = null;
    if (!s || s.destroyed) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.end();
      setTimeout(() => s.destroy(), 1000).unref(); // a peer that never closes must not hold shutdown
    });
  }
}
