// PostgreSQL frontend/backend protocol v3: framing, validation and message builders. Dependency-free.
//
// PostgreSQL docs, chapter "Frontend/Backend Protocol", sections "Messaging Overview" and "Message Formats":
//   "The first byte of a message identifies the message type, and the next four bytes specify the
//    length of the rest of the message (this length count includes itself, but not the
//    message-type byte)."
//   "For historical reasons, the very first message sent by the client (the startup message) has
//    no initial message-type byte."
// Two readers: FrameReader copies whole messages (start-up and authentication, where every message
// is read); MessageScanner walks message headers in the data path without copying, so chunks are
// forwarded as they arrive and only the few messages state tracking needs are looked at.

export const PROTOCOL_3_0 = 196608; // (3 << 16) | 0
export const SSL_REQUEST = 80877103; // "1234 in the most significant 16 bits, and 5679 in the least"
export const GSSENC_REQUEST = 80877104; // 1234 / 5680
export const CANCEL_REQUEST = 80877102; // 1234 / 5678
/** PostgreSQL's MAX_STARTUP_PACKET_LENGTH (src/include/libpq/pqcomm.h). */
export const MAX_STARTUP_LENGTH = 10000;

/** A malformed, unknown or oversized frame. Closes that connection only; `sqlstate` goes to the client. */
export class ProtocolViolation extends Error {
  constructor(message: string, readonly sqlstate = '08P01') {
    super(message);
    this.name = 'ProtocolViolation';
  }
}

const code = (c: string) => c.charCodeAt(0);

// ---- frontend (client -> server) message types the proxy accepts after start-up
export const F = {
  Bind: code('B'), Close: code('C'), CopyData: code('d'), CopyDone: code('c'), CopyFail: code('f'),
  Describe: code('D'), Execute: code('E'), Flush: code('H'), FunctionCall: code('F'), Parse: code('P'),
  Password: code('p'), Query: code('Q'), Sync: code('S'), Terminate: code('X'),
} as const;

/** Frontend types allowed after authentication ('p' only during authentication). */
export const FRONTEND_TYPES: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const [k, v] of Object.entries(F)) if (k !== 'Password') t[v] = 1;
  return t;
})();

/** Messages whose body is always empty: "Int32(4) Length of message contents in bytes, including self." */
const FIXED_EMPTY: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (const c of [F.CopyDone, F.Flush, F.Sync, F.Terminate]) t[c] = 1;
  return t;
})();

// ---- backend (server -> client) message types the proxy looks at
export const B = {
  Authentication: code('R'), BackendKeyData: code('K'), ErrorResponse: code('E'), NoticeResponse: code('N'),
  ParameterStatus: code('S'), ReadyForQuery: code('Z'), NegotiateProtocolVersion: code('v'),
  CommandComplete: code('C'), EmptyQueryResponse: code('I'), NotificationResponse: code('A'),
} as const;

export interface Message {
  type: number;
  body: Buffer;
}

/**
 * Copies whole frames out of a byte stream (start-up and authentication phases). Every frame is
 * length-checked before it is buffered: a length below 4 or above `maxLength` is a violation.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly maxLength: number) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  get buffered(): number {
    return this.buf.length;
  }

  /** The next untyped start-up packet body (after its length word), or undefined when incomplete. */
  nextStartup(): Buffer | undefined {
    if (this.buf.length < 4) return undefined;
    const len = this.buf.readUInt32BE(0);
    // PostgreSQL (ProcessStartupPacket): "if (len < 4 || len > MAX_STARTUP_PACKET_LENGTH) ... invalid length of startup packet"
    if (len < 8 || len > MAX_STARTUP_LENGTH) throw new ProtocolViolation('invalid length of startup packet');
    if (this.buf.length < len) return undefined;
    const body = this.buf.subarray(4, len);
    this.buf = this.buf.subarray(len);
    return body;
  }

  /** The next typed message, or undefined when incomplete. */
  next(): Message | undefined {
    if (this.buf.length < 5) return undefined;
    const type = this.buf[0]!;
    const len = this.buf.readUInt32BE(1);
    if (len < 4) throw new ProtocolViolation('invalid message length');
    if (len - 4 > this.maxLength) throw new ProtocolViolation(`message of ${len - 4} bytes exceeds the ${this.maxLength}-byte limit`, '54000');
    if (this.buf.length < len + 1) return undefined;
    const body = this.buf.subarray(5, len + 1);
    this.buf = this.buf.subarray(len + 1);
    return { type, body };
  }

  /** Whatever is buffered beyond the frames read so far (handed to the data path after login). */
  takeRest(): Buffer {
    const r = this.buf;
    this.buf = Buffer.alloc(0);
    return r;
  }
}

export interface ScannerOptions {
  /** Largest accepted body length (bytes after the length word). */
  maxLength: number;
  /** 1 for each message type whose body the handler wants; every other body is skipped uncopied. */
  capture: Uint8Array;
  /** When set, only these types are accepted (frontend validation). */
  known?: Uint8Array;
}

/**
 * Walks the message headers of a stream without copying message bodies. For captured types the
 * handler gets the body (a view into the chunk when the message is whole in it, else a copy
 * assembled across chunks). A handler returning true stops the scan: `scan` then returns the
 * offset in the chunk where that message began (0 and `stoppedSplit` when it began in an earlier
 * chunk), so the caller can forward only the bytes before it.
 */
export class MessageScanner {
  private skip = 0;
  private readonly hdr = Buffer.alloc(5);
  private hdrLen = 0;
  private cap: Buffer | undefined;
  private capLen = 0;
  private capType = 0;
  /** True when the last stop was on a message that began in an earlier chunk. */
  stoppedSplit = false;
  /** Messages seen so far (all types). */
  count = 0;

  constructor(private readonly opts: ScannerOptions, private readonly onMessage: (type: number, body: Buffer) => boolean | void) {}

  /** True between messages (no partial header or body pending). */
  get atBoundary(): boolean {
    return this.skip === 0 && this.hdrLen === 0 && this.cap === undefined;
  }

  scan(chunk: Buffer): number {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, n - i);
        if (this.cap) {
          chunk.copy(this.cap, this.capLen, i, i + take);
          this.capLen += take;
        }
        this.skip -= take;
        i += take;
        if (this.skip === 0 && this.cap) {
          const body = this.cap;
          this.cap = undefined;
          if (this.onMessage(this.capType, body)) return this.stop(-1);
        }
        continue;
      }
      let type: number;
      let len: number;
      let start: number;
      if (this.hdrLen > 0 || n - i < 5) {
        const take = Math.min(5 - this.hdrLen, n - i);
        chunk.copy(this.hdr, this.hdrLen, i, i + take);
        this.hdrLen += take;
        i += take;
        if (this.hdrLen < 5) break;
        this.hdrLen = 0;
        type = this.hdr[0]!;
        len = this.hdr.readUInt32BE(1);
        start = -1; // the header straddled chunks
      } else {
        type = chunk[i]!;
        len = chunk.readUInt32BE(i + 1);
        start = i;
        i += 5;
      }
      this.check(type, len);
      this.count++;
      const bodyLen = len - 4;
      if (this.opts.capture[type] === 1) {
        if (bodyLen <= n - i) {
          const body = chunk.subarray(i, i + bodyLen);
          i += bodyLen;
          if (this.onMessage(type, body)) return this.stop(start);
        } else {
          this.cap = Buffer.allocUnsafe(bodyLen);
          this.capLen = n - i;
          chunk.copy(this.cap, 0, i, n);
          this.capType = type;
          this.skip = bodyLen - (n - i);
          i = n;
        }
      } else {
        const take = Math.min(bodyLen, n - i);
        i += take;
        this.skip = bodyLen - take;
      }
    }
    return -1;
  }

  private stop(start: number): number {
    this.stoppedSplit = start < 0;
    return start < 0 ? 0 : start;
  }

  private check(type: number, len: number): void {
    if (this.opts.known && this.opts.known[type] !== 1) {
      throw new ProtocolViolation(`invalid frontend message type ${type}`);
    }
    if (len < 4) throw new ProtocolViolation('invalid message length');
    if (len - 4 > this.opts.maxLength) throw new ProtocolViolation(`message of ${len - 4} bytes exceeds the ${this.opts.maxLength}-byte limit`, '54000');
    if (this.opts.known && FIXED_EMPTY[type] === 1 && len !== 4) throw new ProtocolViolation('invalid message length');
  }
}

// ---- start-up packets

export type StartupPacket =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; pid: number; secret: number }
  | { kind: 'startup'; minor: number; params: Map<string, string>; unsupportedOptions: string[] };

export function parseStartup(body: Buffer): StartupPacket {
  const c = body.readUInt32BE(0);
  if (c === SSL_REQUEST && body.length === 4) return { kind: 'ssl' };
  if (c === GSSENC_REQUEST && body.length === 4) return { kind: 'gssenc' };
  if (c === CANCEL_REQUEST) {
    // CancelRequest: Int32(16) Int32(80877102) Int32 process ID, Int32 secret key
    if (body.length !== 12) throw new ProtocolViolation('invalid length of cancel request');
    return { kind: 'cancel', pid: body.readUInt32BE(4), secret: body.readUInt32BE(8) };
  }
  const major = c >>> 16;
  // "If the requested major version of the protocol is not supported by the server, the connection is rejected"
  if (major !== 3) throw new ProtocolViolation(`unsupported frontend protocol ${major}.${c & 0xffff}: server supports 3.0`, '0A000');
  // StartupMessage: "The protocol version number is followed by one or more pairs of parameter name
  // and value strings. A zero byte is required as a terminator after the last name/value pair."
  const params = new Map<string, string>();
  const unsupportedOptions: string[] = [];
  let i = 4;
  for (;;) {
    if (i >= body.length) throw new ProtocolViolation('invalid startup packet layout: expected terminator as last byte');
    if (body[i] === 0) {
      if (i !== body.length - 1) throw new ProtocolViolation('invalid startup packet layout: expected terminator as last byte');
      break;
    }
    const kEnd = body.indexOf(0, i);
    if (kEnd < 0) throw new ProtocolViolation('invalid startup packet layout');
    const vEnd = body.indexOf(0, kEnd + 1);
    if (vEnd < 0) throw new ProtocolViolation('invalid startup packet layout');
    const k = body.toString('utf8', i, kEnd);
    const v = body.toString('utf8', kEnd + 1, vEnd);
    // Protocol options "_pq_.*" are for the protocol itself; we know none.
    if (k.startsWith('_pq_.')) unsupportedOptions.push(k);
    else params.set(k, v);
    i = vEnd + 1;
  }
  return { kind: 'startup', minor: c & 0xffff, params, unsupportedOptions };
}

// ---- builders

function frame(type: number, bodyLen: number): Buffer {
  const b = Buffer.allocUnsafe(5 + bodyLen);
  b[0] = type;
  b.writeUInt32BE(bodyLen + 4, 1);
  return b;
}

function cstrings(type: number, parts: string[]): Buffer {
  const bufs = parts.map((p) => Buffer.from(p + '\0', 'utf8'));
  const len = bufs.reduce((a, b) => a + b.length, 0);
  const out = frame(type, len);
  let o = 5;
  for (const b of bufs) o += b.copy(out, o);
  return out;
}

export type Severity = 'ERROR' | 'FATAL';

/** ErrorResponse: fields S (localized severity), V (severity), C (SQLSTATE), M (message), then a zero byte. */
export function errorResponse(severity: Severity, sqlstate: string, message: string): Buffer {
  const fields = [`S${severity}`, `V${severity}`, `C${sqlstate}`, `M${message}`];
  return cstrings(B.ErrorResponse, [...fields, '']); // the '' adds the terminating zero byte
}

/** Authentication request: Int32 code followed by method-specific data. */
export function authentication(codeValue: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const b = frame(B.Authentication, 4 + data.length);
  b.writeUInt32BE(codeValue, 5);
  data.copy(b, 9);
  return b;
}

export const AUTH = { Ok: 0, CleartextPassword: 3, MD5Password: 5, SASL: 10, SASLContinue: 11, SASLFinal: 12 } as const;

export function authenticationSASL(mechanisms: string[]): Buffer {
  return authentication(AUTH.SASL, Buffer.from(mechanisms.map((m) => m + '\0').join('') + '\0', 'utf8'));
}

export function parameterStatus(name: string, value: string): Buffer {
  return cstrings(B.ParameterStatus, [name, value]);
}

export function backendKeyData(pid: number, secret: number): Buffer {
  const b = frame(B.BackendKeyData, 8);
  b.writeUInt32BE(pid >>> 0, 5);
  b.writeUInt32BE(secret >>> 0, 9);
  return b;
}

export function readyForQuery(status: 'I' | 'T' | 'E'): Buffer {
  const b = frame(B.ReadyForQuery, 1);
  b[5] = code(status);
  return b;
}

/** NegotiateProtocolVersion: newest minor version supported, then the unrecognized protocol options. */
export function negotiateProtocolVersion(options: string[]): Buffer {
  const names = options.map((o) => Buffer.from(o + '\0', 'utf8'));
  const len = 8 + names.reduce((a, b) => a + b.length, 0);
  const b = frame(B.NegotiateProtocolVersion, len);
  b.writeUInt32BE(PROTOCOL_3_0, 5);
  b.writeUInt32BE(options.length, 9);
  let o = 13;
  for (const n of names) o += n.copy(b, o);
  return b;
}

export function query(sql: string): Buffer {
  return cstrings(F.Query, [sql]);
}

export function terminate(): Buffer {
  return frame(F.Terminate, 0);
}

export function startupMessage(params: Record<string, string>): Buffer {
  const body = Buffer.from(Object.entries(params).map(([k, v]) => `${k}\0${v}\0`).join('') + '\0', 'utf8');
  const b = Buffer.allocUnsafe(8 + body.length);
  b.writeUInt32BE(8 + body.length, 0);
  b.writeUInt32BE(PROTOCOL_3_0, 4);
  body.copy(b, 8);
  return b;
}

export function cancelRequest(pid: number, secret: number): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeUInt32BE(16, 0);
  b.writeUInt32BE(CANCEL_REQUEST, 4);
  b.writeUInt32BE(pid >>> 0, 8);
  b.writeUInt32BE(secret >>> 0, 12);
  return b;
}

/** PasswordMessage ('p') carrying a NUL-terminated string (cleartext or md5). */
export function passwordMessage(password: string): Buffer {
  return cstrings(F.Password, [password]);
}

/** SASLInitialResponse: mechanism name, Int32 length of the data (-1 for none), data. */
export function saslInitialResponse(mechanism: string, data: Buffer): Buffer {
  const m = Buffer.from(mechanism + '\0', 'utf8');
  const b = frame(F.Password, m.length + 4 + data.length);
  m.copy(b, 5);
  b.writeInt32BE(data.length, 5 + m.length);
  data.copy(b, 9 + m.length);
  return b;
}

export function saslResponse(data: Buffer): Buffer {
  const b = frame(F.Password, data.length);
  data.copy(b, 5);
  return b;
}

/** Reads the fields of an ErrorResponse/NoticeResponse body: one-byte code -> value. */
export function parseErrorFields(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const t = String.fromCharCode(body[i]!);
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    out.set(t, body.toString('utf8', i + 1, end));
    i = end + 1;
  }
  return out;
}

/** Reads a NUL-terminated string at `offset`; returns it and the offset after the NUL. */
export function readCString(body: Buffer, offset: number): [string, number] {
  const end = body.indexOf(0, offset);
  if (end < 0) throw new ProtocolViolation('missing string terminator');
  return [body.toString('utf8', offset, end), end + 1];
}
