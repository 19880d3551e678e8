// JSON-lines file sink with size-based rollover: audit.jsonl is written; when it reaches maxBytes it
// becomes audit.1.jsonl (the previous .1 becomes .2, ...). One batch is one write() + fdatasync(),
// and a batch never spans two files. The directory is never created here: a path that cannot be
// written must make append fail, not silently write somewhere else.
//
// Crash safety: a batch is acknowledged only after fdatasync. A crash mid-write can leave a torn last
// line; recover() cuts it off (that batch was never acknowledged, so no caller was told it was
// recorded). A failed write truncates the file back to its previous size for the same reason.
import { writeSync } from 'node:fs';
import { open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { type AuditRecord, type ChainHead, isAuditRecord } from '../chain.ts';
import { type AuditSink, type SinkBatch, batchLines, recordsBytes } from './types.ts';

export interface FileSinkOptions {
  path: string;
  /** Roll over once the file reaches this size (default 100 MiB). */
  maxBytes?: number;
  /** Rolled files to keep; older ones are deleted (default 0: keep all). */
  maxFiles?: number;
  /**
   * 'data' (default): fdatasync after each batch, so an acknowledged event survives power loss.
   * 'none': the write reaches the kernel before the append resolves, so it survives a crash of
   * rekey but not of the machine (what Vault's file audit device does). Saves one fsync per batch:
   * at low concurrency that is most of an audited request's added latency.
   */
  sync?: 'data' | 'none';
}

const CHUNK = 64 * 1024;

export function rolledPath(path: string, n: number): string {
  const ext = extname(path);
  return ext ? `${path.slice(0, -ext.length)}.${n}${ext}` : `${path}.${n}`;
}

/** Rolled files of a set (not the current one), newest (n = 1) first. */
async function rolledFiles(path: string): Promise<{ n: number; path: string }[]> {
  const ext = extname(path);
  const stem = basename(path).slice(0, ext ? -ext.length : undefined);
  const re = new RegExp(`^${escapeRe(stem)}\\.(\\d+)${escapeRe(ext)}$`);
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return [];
  }
  const out: { n: number; path: string }[] = [];
  for (const name of names) {
    const m = re.exec(name);
    if (m) out.push({ n: Number(m[1]), path: join(dirname(path), name) });
  }
  return out.sort((a, b) => a.n - b.n);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The files of a rolled set, oldest first, ending with the current file (only those that exist). */
export async function listFileSet(path: string): Promise<string[]> {
  const rolled = (await rolledFiles(path)).reverse().map((f) => f.path);
  const exists = await stat(path).then(() => true, () => false);
  return exists ? [...rolled, path] : rolled;
}

/** Lines of an open file from the last to the first (the file must end with a newline or be empty). */
async function* linesBackward(fh: FileHandle, size: number): AsyncGenerator<string> {
  let pos = size;
  let carry = Buffer.alloc(0);
  while (pos > 0) {
    const n = Math.min(CHUNK, pos);
    pos -= n;
    const buf = Buffer.alloc(n);
    await fh.read(buf, 0, n, pos);
    const data = Buffer.concat([buf, carry]);
    let end = data.length;
    for (let i = data.length - 1; i >= 0; i--) {
      if (data[i] !== 0x0a) continue;
      if (i + 1 < end) yield data.subarray(i + 1, end).toString('utf8');
      end = i;
    }
    carry = data.subarray(0, end);
  }
  if (carry.length > 0) yield carry.toString('utf8');
}

/** Records found newest first, returned oldest first. */
function inOrder(found: { record: AuditRecord; line: string }[]): { records: AuditRecord[]; lines: string[] } {
  const oldestFirst = [...found].reverse();
  return { records: oldestFirst.map((f) => f.record), lines: oldestFirst.map((f) => f.line) };
}

export class FileSink implements AuditSink {
  readonly name: string;
  readonly durable = true;
  private fh: FileHandle | null = null;
  private size = 0;
  private readonly maxBytes: number;
  private readonly maxFiles: number;

  constructor(private readonly opts: FileSinkOptions) {
    this.name = `file:${opts.path}`;
    this.maxBytes = opts.maxBytes ?? 100 * 1024 * 1024;
    this.maxFiles = opts.maxFiles ?? 0;
  }

  async recover(node: string): Promise<ChainHead | null> {
    await this.closeHandle();
    for (const path of (await listFileSet(this.opts.path)).reverse()) {
      const head = await this.lastHeadIn(path, node, path === this.opts.path);
      if (head) return head;
    }
    return null;
  }

  /**
   * Seqs fromSeq..toSeq of `node` with their lines as written, read from the newest file back (for
   * filling another sink's gap: src/audit/gap-fill.ts). Call after recover() (a torn line is cut).
   */
  async readRange(node: string, fromSeq: number, toSeq: number): Promise<{ records: AuditRecord[]; lines: string[] } | null> {
    const found: { record: AuditRecord; line: string }[] = [];
    for (const path of (await listFileSet(this.opts.path)).reverse()) {
      const fh = await open(path, 'r');
      try {
        const { size } = await fh.stat();
        for await (const line of linesBackward(fh, size)) {
          let v: unknown;
          try {
            v = JSON.parse(line);
          } catch {
            continue;
          }
          if (!isAuditRecord(v) || v.node !== node) continue;
          if (v.seq < fromSeq) return inOrder(found);
          if (v.seq <= toSeq) found.push({ record: v, line });
        }
      } finally {
        await fh.close();
      }
    }
    return inOrder(found);
  }

  /** The last record of `node` in one file; repairs a torn last line of the current file. */
  private async lastHeadIn(path: string, node: string, repair: boolean): Promise<ChainHead | null> {
    const fh = await open(path, repair ? 'r+' : 'r');
    try {
      let { size } = await fh.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await fh.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) {
          size = await this.lastNewlineEnd(fh, size);
          if (repair) await fh.truncate(size);
        }
      }
      for await (const line of linesBackward(fh, size)) {
        let v: unknown;
        try {
          v = JSON.parse(line);
        } catch {
          continue; // a damaged line: the verifier reports it; recovery looks further back
        }
        if (isAuditRecord(v) && v.node === node) return { seq: v.seq, hash: v.hash };
      }
      return null;
    } finally {
      await fh.close();
    }
  }

  private async lastNewlineEnd(fh: FileHandle, size: number): Promise<number> {
    let pos = size;
    while (pos > 0) {
      const n = Math.min(CHUNK, pos);
      pos -= n;
      const buf = Buffer.alloc(n);
      await fh.read(buf, 0, n, pos);
      const i = buf.lastIndexOf(0x0a);
      if (i >= 0) return pos + i + 1;
    }
    return 0;
  }

  async write(batch: SinkBatch): Promise<void> {
    let buf: Buffer;
    if (batch.digest === undefined) {
      buf = recordsBytes(batch); // the same bytes the store sink keeps: encoded once per batch
    } else {
      buf = Buffer.from(batchLines(batch).join('\n') + '\n', 'utf8');
    }
    if (buf.length === 0) return;
    if (!this.fh) {
      // 0600: the trail says who used which key, with encryption contexts; not for every local user.
      this.fh = await open(this.opts.path, 'a', 0o600);
      this.size = (await this.fh.stat()).size;
    }
    const fh = this.fh;
    const before = this.size;
    try {
      // A synchronous write: to the page cache it takes microseconds, less than the thread-pool
      // round trip of an async one. The fsync, which can take milliseconds, stays async.
      let off = 0;
      while (off < buf.length) off += writeSync(fh.fd, buf, off, buf.length - off);
      if ((this.opts.sync ?? 'data') === 'data') await fh.datasync();
      this.size += buf.length;
    } catch (e) {
      // Leave no partial batch behind: it is being reported as not written.
      await fh.truncate(before).catch(() => undefined);
      await this.closeHandle();
      throw e;
    }
    if (this.size >= this.maxBytes) await this.rollover();
  }

  private async rollover(): Promise<void> {
    await this.closeHandle();
    const rolled = await rolledFiles(this.opts.path);
    // rename from the oldest down so no file is overwritten: .2 -> .3, .1 -> .2, current -> .1
    for (const f of [...rolled].reverse()) await rename(f.path, rolledPath(this.opts.path, f.n + 1));
    await rename(this.opts.path, rolledPath(this.opts.path, 1));
    await this.syncDir();
    if (this.maxFiles > 0) {
      for (const f of rolled) if (f.n + 1 > this.maxFiles) await rm(rolledPath(this.opts.path, f.n + 1), { force: true });
    }
  }

  private async syncDir(): Promise<void> {
    // Make the renames durable too; not every platform can fsync a directory, so best effort.
    try {
      const d = await open(dirname(this.opts.path), 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      // ignore
    }
  }

  private async closeHandle(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh) await fh.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.closeHandle();
  }

  /** Current size of the file being written (for tests and metrics). */
  async currentSize(): Promise<number> {
    try {
      return (await stat(this.opts.path)).size;
    } catch {
      return 0;
    }
  }
}
