// A chunked authenticated stream (format v1), for snapshots and other large objects:
//
//   header (48 bytes)
//   offset  size  field
//        0     4  magic "RKST"
//        4     1  version (0x01)
//        5     1  mode: 0x01 sealed (AES-256-GCM), 0x00 plain (integrity only: SHA-256, no key)
//        6     2  reserved (0x0000)
//        8     4  chunk size C (plaintext bytes per chunk, big-endian; 4 KiB .. 16 MiB)
//       12    32  salt (random per stream; zero in plain mode)
//   chunks, in order, i = 0, 1, ...
//        0     n  chunk data (n = C for every chunk but the last; the last has 1 <= n <= C, 0 only when the
//                 whole plaintext is empty)
//        n    16  tag
//
// Sealed: stream key = HKDF-SHA256(ikm = data key, salt, info = "rekey-stream-v1"): a fresh key
// per stream, so the per-chunk IV can be the chunk index (IV = 4 zero bytes || i as uint64 BE)
// without ever repeating under one key. Plain: tag = SHA-256(AAD || data)[0..16] (damage, not
// tampering, is detected: there is no key).
// AAD of chunk i = the 48 header bytes || i (uint64 BE) || final flag (0x01 on the last chunk, else 0x00).
// The writer holds back a full chunk until more data shows it is not the last, so every stream has
// exactly one chunk flagged final: truncation (even at a chunk boundary), a dropped,
// repeated or reordered chunk, a changed header byte or a flipped bit all fail one tag check, and
// every failure is the same StreamAuthenticationFailed naming the chunk where reading stopped.
// Memory is constant: at most one chunk is buffered each way.
import * as nc from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export const STREAM_MAGIC = Buffer.from('RKST', 'latin1');
export const STREAM_V1 = 0x01;
export const STREAM_HEADER_BYTES = 48;
export const STREAM_TAG_BYTES = 16;
// 1 MiB: a snapshot is read in pieces of 8 MiB (src/db/snapshots/tar.ts), sealed as views with no copy; fewer,
// larger writes. Streams of any chunk size in range open (the size is in the header).
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
const MIN_CHUNK = 4096;
const MAX_CHUNK = 16 * 1024 * 1024;
const INFO = Buffer.from('rekey-stream-v1', 'latin1');

export type StreamMode = 'sealed' | 'plain';

/** The one error of a stream that does not authenticate (damaged, truncated, reordered, wrong key or not a stream). */
export class StreamAuthenticationFailed extends Error {
  constructor(readonly chunk: number | 'header') {
    super(chunk === 'header'
      ? 'The stream header is damaged or this is not a rekey stream (v1).'
      : `The stream failed authentication at chunk ${chunk}: it is damaged, truncated or reordered, or the key is wrong.`);
    this.name = 'StreamAuthenticationFailed';
  }
}

export interface StreamHeader {
  mode: StreamMode;
  chunkBytes: number;
  salt: Buffer;
  raw: Buffer;
}

function makeHeader(mode: StreamMode, chunkBytes: number, salt: Buffer): Buffer {
  const h = Buffer.alloc(STREAM_HEADER_BYTES);
  STREAM_MAGIC.copy(h, 0);
  h[4] = STREAM_V1;
  h[5] = mode === 'sealed' ? 1 : 0;
  h.writeUInt32BE(chunkBytes, 8);
  salt.copy(h, 12);
  return h;
}

export function parseStreamHeader(h: Buffer): StreamHeader {
  if (h.length < STREAM_HEADER_BYTES || !h.subarray(0, 4).equals(STREAM_MAGIC) || h[4] !== STREAM_V1 || (h[5] !== 0 && h[5] !== 1) || h.readUInt16BE(6) !== 0) {
    throw new StreamAuthenticationFailed('header');
  }
  const chunkBytes = h.readUInt32BE(8);
  if (chunkBytes < MIN_CHUNK || chunkBytes > MAX_CHUNK) throw new StreamAuthenticationFailed('header');
  const raw = Buffer.from(h.subarray(0, STREAM_HEADER_BYTES));
  return { mode: h[5] === 1 ? 'sealed' : 'plain', chunkBytes, salt: raw.subarray(12, 44), raw };
}

function aad(header: Buffer, index: number, final: boolean): Buffer {
  const a = Buffer.alloc(STREAM_HEADER_BYTES + 9);
  header.copy(a, 0);
  a.writeBigUInt64BE(BigInt(index), STREAM_HEADER_BYTES);
  a[STREAM_HEADER_BYTES + 8] = final ? 1 : 0;
  return a;
}

function ivOf(index: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64BE(BigInt(index), 4);
  return iv;
}

function streamKey(dataKey: Uint8Array, salt: Buffer): Buffer {
  if (dataKey.length !== 32) throw new RangeError('stream: the data key must be 32 bytes');
  return Buffer.from(nc.hkdfSync('sha256', dataKey, salt, INFO, 32));
}

function plainTag(a: Buffer, data: Buffer): Buffer {
  return nc.createHash('sha256').update(a).update(data).digest().subarray(0, STREAM_TAG_BYTES);
}

/** Bytes collected from writes, taken out in exact sizes without copying everything each time. */
class Pending {
  private parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    if (b.length) { this.parts.push(b); this.length += b.length; }
  }
  take(n: number): Buffer {
    const head = this.parts[0];
    if (head && head.length >= n) {
      // the common case (writes larger than a chunk): a view, no copy
      if (head.length === n) this.parts.shift();
      else this.parts[0] = head.subarray(n);
      this.length -= n;
      return head.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    while (o < n) {
      const p = this.parts[0]!;
      const k = Math.min(p.length, n - o);
      p.copy(out, o, 0, k);
      o += k;
      if (k === p.length) this.parts.shift();
      else this.parts[0] = p.subarray(k);
    }
    this.length -= n;
    return out;
  }
}

export interface SealOptions {
  /** 32 bytes: the stream key is derived from it (the caller keeps and zeroes it). Absent: plain mode. */
  dataKey?: Uint8Array;
  chunkBytes?: number;
  /** Tests only: a fixed salt (for saved fixtures). */
  salt?: Buffer;
}

/** Plaintext in, stream (header + chunks) out. */
export function sealStream(o: SealOptions = {}): Transform {
  const chunkBytes = o.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (chunkBytes < MIN_CHUNK || chunkBytes > MAX_CHUNK) throw new RangeError('stream: chunk size out of range');
  const mode: StreamMode = o.dataKey ? 'sealed' : 'plain';
  const salt = mode === 'sealed' ? (o.salt ?? nc.randomBytes(32)) : Buffer.alloc(32);
  const header = makeHeader(mode, chunkBytes, salt);
  const key = o.dataKey ? streamKey(o.dataKey, salt) : null;
  const pending = new Pending();
  let index = 0;
  let started = false;
  const emit = (t: Transform, data: Buffer, final: boolean) => {
    if (!started) { t.push(header); started = true; }
    const a = aad(header, index, final);
    if (key) {
      const c = nc.createCipheriv('aes-256-gcm', key, ivOf(index), { authTagLength: STREAM_TAG_BYTES });
      c.setAAD(a);
      t.push(c.update(data));
      c.final();
      t.push(c.getAuthTag());
    } else {
      t.push(data);
      t.push(plainTag(a, data));
    }
    index++;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      pending.push(chunk);
      // a full chunk waits until more data proves it is not the last one
      while (pending.length > chunkBytes) emit(this, pending.take(chunkBytes), false);
      cb();
    },
    flush(cb: TransformCallback) {
      emit(this, pending.take(pending.length), true);
      key?.fill(0);
      cb();
    },
    destroy(err, cb) {
      key?.fill(0);
      cb(err);
    },
  });
}

export interface OpenOptions {
  /** Required for a sealed stream; a plain stream is refused when given (a downgrade is an error). */
  dataKey?: Uint8Array;
  /** Called with the parsed header before the first chunk is opened. */
  onHeader?: (h: StreamHeader) => void;
}

/** Stream in, plaintext out; errors with StreamAuthenticationFailed at the first bad chunk (nothing of that chunk is emitted). */
export function openStream(o: OpenOptions = {}): Transform {
  const pending = new Pending();
  let header: StreamHeader | null = null;
  let key: Buffer | null = null;
  let index = 0;
  const open = (data: Buffer, final: boolean): Buffer => {
    const h = header!;
    const a = aad(h.raw, index, final);
    const body = data.subarray(0, data.length - STREAM_TAG_BYTES);
    const tag = data.subarray(data.length - STREAM_TAG_BYTES);
    if (key) {
      try {
        const d = nc.createDecipheriv('aes-256-gcm', key, ivOf(index), { authTagLength: STREAM_TAG_BYTES });
        d.setAAD(a);
        d.setAuthTag(tag);
        const out = d.update(body);
        d.final();
        index++;
        return out;
      } catch {
        throw new StreamAuthenticationFailed(index);
      }
    }
    if (!nc.timingSafeEqual(plainTag(a, body), tag)) throw new StreamAuthenticationFailed(index);
    index++;
    return body;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        pending.push(chunk);
        if (!header) {
          if (pending.length < STREAM_HEADER_BYTES) { cb(); return; }
          header = parseStreamHeader(pending.take(STREAM_HEADER_BYTES));
          if ((header.mode === 'sealed') !== (o.dataKey !== undefined)) throw new StreamAuthenticationFailed('header');
          if (o.dataKey) key = streamKey(o.dataKey, header.salt);
          o.onHeader?.(header);
        }
        const whole = header.chunkBytes + STREAM_TAG_BYTES;
        while (pending.length > whole) this.push(open(pending.take(whole), false));
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        if (!header) throw new StreamAuthenticationFailed('header');
        if (pending.length < STREAM_TAG_BYTES) throw new StreamAuthenticationFailed(index);
        this.push(open(pending.take(pending.length), true));
        cb();
      } catch (e) {
        cb(e as Error);
      } finally {
        key?.fill(0);
      }
    },
    destroy(err, cb) {
      key?.fill(0);
      cb(err);
    },
  });
}

/** Ciphertext bytes of a stream carrying `plaintextBytes` (for progress: header + data + one tag per chunk). */
export function sealedLength(plaintextBytes: number, chunkBytes = DEFAULT_CHUNK_BYTES): number {
  return STREAM_HEADER_BYTES + plaintextBytes + Math.max(1, Math.ceil(plaintextBytes / chunkBytes)) * STREAM_TAG_BYTES;
}
