// A tar archive (POSIX ustar; a pax record for a name, link or size ustar cannot hold) made in this
// process, for the snapshot's base backup. Why not GNU tar through a pipe, as before: its 10 KB
// records through a 64 KB pipe into Node cost more CPU than the copy itself (docs/PERFORMANCE.md,
// bench/db-snapshot). Here file data is read with large reads straight into the output piece
// (no copy between the read and the sealing), every piece but the last is exactly `pieceBytes`
// long (a multiple of the stream's chunk size: the sealer takes views, no copies), and large reads
// run in libuv's thread pool while the main thread seals the previous piece. Small steps (listing a
// directory, opening and stat-ing a file, a read of at most SYNC_READ_MAX) are synchronous: each
// trip through the thread pool costs a wake-up of the main thread, and on a loaded machine a
// data directory's thousands of small files then cost more in waiting for a CPU than in copying
// (docs/PERFORMANCE.md, bench/db-snapshot); one such step blocks the event loop for tens of
// microseconds when the data is in the page cache.
//
// Files that change while read are what a base backup expects (WAL replay repairs them), as GNU tar
// and pg_basebackup treat them: the size is the one seen at open; a file that shrank is padded
// with zeros, one that grew is cut at that size, one removed before its open is left out.
//
//   header block (512 bytes, ustar)   offset size field
//                                          0  100 name (NUL-padded)          257   6 "ustar\0"
//                                        100    8 mode (octal)               263   2 "00"
//                                        108    8 uid, 116 8 gid (0)         345 155 prefix (unused: pax instead)
//                                        124   12 size (octal)
//                                        136   12 mtime (octal)
//                                        148    8 checksum (octal, spaces while summing)
//                                        156    1 type: '0' file, '2' symlink, '5' directory, 'x' pax record
//                                        157  100 link name
//   then the data, padded to 512; the archive ends with two zero blocks.
import { closeSync, fstatSync, lstatSync, openSync, read, readdirSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';

const BLOCK = 512;
/** Reads up to this size are done synchronously (see above). */
const SYNC_READ_MAX = 256 * 1024;

function readAt(fd: number, into: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, into, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))));
}
const MAX_OCTAL_SIZE = 0o77777777777; // 11 octal digits: 8 GiB - 1

function octal(h: Buffer, value: number, offset: number, width: number): void {
  h.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'latin1');
}

function header(name: string, type: '0' | '2' | '5' | 'x', mode: number, size: number, mtime: number, link = ''): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  octal(h, mode & 0o7777, 100, 8);
  octal(h, 0, 108, 8);
  octal(h, 0, 116, 8);
  octal(h, size > MAX_OCTAL_SIZE ? 0 : size, 124, 12);
  octal(h, Math.max(0, Math.floor(mtime / 1000)), 136, 12);
  h.write('        ', 148, 'latin1');
  h.write(type, 156, 'latin1');
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** A pax record "<len> <key>=<value>\n", where len counts the whole record, its own digits included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len++;
  return `${len}${body}`;
}

/** The header block(s) of one member: a pax record first when ustar cannot hold its name, link or size. */
export function memberHeader(name: string, type: '0' | '2' | '5', mode: number, size: number, mtime: number, link = ''): Buffer {
  const pax: string[] = [];
  if (Buffer.byteLength(name) > 100) pax.push(paxRecord('path', name));
  if (Buffer.byteLength(link) > 100) pax.push(paxRecord('linkpath', link));
  if (size > MAX_OCTAL_SIZE) pax.push(paxRecord('size', String(size)));
  const own = header(name, type, mode, size, mtime, link);
  if (!pax.length) return own;
  const data = Buffer.from(pax.join(''), 'utf8');
  const pad = Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK);
  return Buffer.concat([header('./PaxHeaders/x', 'x', 0o644, data.length, mtime), data, pad, own]);
}

/** Which paths (relative, "./a/b") to leave out; `dir` tells whether it is a directory. */
export type Exclude = (rel: string, dir: boolean) => boolean;

/**
 * Packs members into pieces of exactly `pieceBytes` (the last one shorter). Each method is an async
 * generator of the pieces it filled; `end()` yields the rest with the two zero blocks.
 */
export class TarPacker {
  private piece: Buffer;
  private used = 0;

  constructor(private readonly pieceBytes: number) {
    this.piece = Buffer.allocUnsafe(pieceBytes);
  }

  private *put(b: Buffer): Generator<Buffer> {
    let o = 0;
    while (o < b.length) {
      const k = Math.min(b.length - o, this.pieceBytes - this.used);
      b.copy(this.piece, this.used, o, o + k);
      this.used += k;
      o += k;
      if (this.used === this.pieceBytes) yield this.take();
    }
  }

  private take(): Buffer {
    const full = this.piece.subarray(0, this.used);
    this.piece = Buffer.allocUnsafe(this.pieceBytes);
    this.used = 0;
    return full;
  }

  private *zeros(n: number): Generator<Buffer> {
    while (n > 0) {
      const k = Math.min(n, this.pieceBytes - this.used);
      this.piece.fill(0, this.used, this.used + k);
      this.used += k;
      n -= k;
      if (this.used === this.pieceBytes) yield this.take();
    }
  }

  /** One member from memory (backup_label). */
  *buffer(name: string, data: Buffer, mode = 0o600): Generator<Buffer> {
    yield* this.put(memberHeader(name, '0', mode, data.length, Date.now()));
    yield* this.put(data);
    yield* this.zeros((BLOCK - (data.length % BLOCK)) % BLOCK);
  }

  /** One regular file (`rel` under `root`); nothing when it no longer exists. */
  async *file(root: string, rel: string): AsyncGenerator<Buffer> {
    let fd: number;
    try {
      fd = openSync(join(root, rel), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return;
      yield* this.put(memberHeader(rel, '0', st.mode, st.size, st.mtimeMs));
      let left = st.size;
      let pos = 0;
      while (left > 0) {
        const want = Math.min(left, this.pieceBytes - this.used);
        const bytesRead = want <= SYNC_READ_MAX ? readSync(fd, this.piece, this.used, want, pos) : await readAt(fd, this.piece, this.used, want, pos);
        if (bytesRead === 0) break; // shrank: zeros below
        this.used += bytesRead;
        pos += bytesRead;
        left -= bytesRead;
        if (this.used === this.pieceBytes) yield this.take();
      }
      yield* this.zeros(left + ((BLOCK - (st.size % BLOCK)) % BLOCK));
    } finally {
      closeSync(fd);
    }
  }

  /** A directory tree under `root` (its entries named "./..."), depth first, without what `exclude` names. */
  async *directory(root: string, exclude: Exclude, rel = '.'): AsyncGenerator<Buffer> {
    let listed;
    try {
      listed = readdirSync(join(root, rel), { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && rel !== '.') return;
      throw e;
    }
    const entries: { name: string; kind: 'dir' | 'file' | 'link' }[] = [];
    for (const d of listed) {
      if (d.isDirectory()) entries.push({ name: d.name, kind: 'dir' });
      else if (d.isFile()) entries.push({ name: d.name, kind: 'file' });
      else if (d.isSymbolicLink()) entries.push({ name: d.name, kind: 'link' });
      // sockets, FIFOs, devices: not part of a data directory's state
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const gone = (e: unknown) => { if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null; throw e; };
    for (const e of entries) {
      const path = `${rel}/${e.name}`;
      if (exclude(path, e.kind === 'dir')) continue;
      if (e.kind === 'file') {
        yield* this.file(root, path);
      } else if (e.kind === 'dir') {
        let st;
        try { st = lstatSync(join(root, path)); } catch (x) { st = gone(x); }
        if (!st) continue;
        yield* this.put(memberHeader(`${path}/`, '5', st.mode, 0, st.mtimeMs));
        yield* this.directory(root, exclude, path);
      } else {
        let st;
        let target: string | null;
        try { st = lstatSync(join(root, path)); target = readlinkSync(join(root, path)); } catch (x) { st = gone(x); target = null; }
        if (!st || target === null) continue;
        yield* this.put(memberHeader(path, '2', 0o777, 0, st.mtimeMs, target));
      }
    }
  }

  /** The archive's end (two zero blocks) and the last, shorter piece. */
  *end(): Generator<Buffer> {
    yield* this.zeros(2 * BLOCK);
    if (this.used) yield this.take();
  }
}
