// The long work behind the snapshot jobs: write a backup through the AEAD stream into a file,
// re-encrypt a file under another key (copy), check a file end to end (before a restore), and
// extract one into a new data directory. Plaintext only ever flows through memory (a pipe into
// tar); on disk there is the sealed stream, written as <id>.partial and renamed when complete.
import { createReadStream, createWriteStream, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openStream, sealStream } from '../../crypto/stream-aead.ts';
import { zeroize } from '../../crypto/index.ts';
import type { KeyDeps } from '../volume-key.ts';
import { backupTo, estimateBytes, extractFrom, type BackupTarget } from './backup.ts';
import { generateSnapshotKey, unwrapSnapshotKey } from './keys.ts';
import { snapshotFiles, type SnapshotRecord } from './model.ts';

export interface Meter {
  /** Called about once a second and at the end, with plaintext bytes so far, the expected total (0: unknown) and the rate (bytes/s). */
  (done: number, total: number, rate: number): void;
}

/** Counts bytes (as a stage, or fed with `add` by a producer) and reports them (at most once a second). */
function counter(total: number, meter: Meter): Transform & { bytes(): number; add(n: number): void } {
  let n = 0;
  const started = Date.now();
  let last = 0;
  const t = new Transform({
    transform(chunk: Buffer, _e, cb) {
      n += chunk.length;
      const now = Date.now();
      if (now - last >= 1000) {
        last = now;
        meter(n, total, n / Math.max(0.001, (now - started) / 1000));
      }
      cb(null, chunk);
    },
    flush(cb) {
      meter(n, total, n / Math.max(0.001, (Date.now() - started) / 1000));
      cb();
    },
  });
  return Object.assign(t, {
    bytes: () => n,
    add(k: number) {
      n += k;
      const now = Date.now();
      if (now - last >= 1000) {
        last = now;
        meter(n, total, n / Math.max(0.001, (now - started) / 1000));
      }
    },
  });
}

/** A data key for a new snapshot file: generated under the record's key (wrapped form returned), or none for a plain one. */
async function newKey(d: KeyDeps, rec: SnapshotRecord): Promise<{ key?: Buffer; wrapped?: string }> {
  if (!rec.encrypted) return {};
  const { plaintext, wrapped } = await generateSnapshotKey(d, rec);
  return { key: plaintext, wrapped };
}

export interface Written {
  wrappedKey?: string;
  bytes: number;
}

/** The backup of a running instance into the snapshot's file. */
export async function writeSnapshot(d: KeyDeps, dbDir: string, rec: SnapshotRecord, target: BackupTarget, meter: Meter, signal?: AbortSignal): Promise<Written> {
  const f = snapshotFiles(dbDir, rec);
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  rmSync(f.partial, { force: true });
  const total = await estimateBytes(target).catch(() => 0);
  const { key, wrapped } = await newKey(d, rec);
  try {
    // tar writes straight into the sealing stream (no stage between: each one costs throughput)
    const seal = sealStream(key ? { dataKey: key } : {});
    const count = counter(total, meter);
    // a failed write (disk full) stops tar and ends the backup session too: nothing is left running
    const stop = new AbortController();
    const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    const written = pipeline(seal, createWriteStream(f.partial, { mode: 0o600, highWaterMark: 1 << 20 }), { signal: both });
    let first: unknown;
    const backup = backupTo(target, seal, both, count).catch((e: unknown) => { first ??= e; seal.destroy(e as Error); throw e; });
    const wrote = written.catch((e: unknown) => { first ??= e; stop.abort(); throw e; });
    const [w, b] = await Promise.allSettled([wrote, backup]);
    if (w.status === 'rejected' || b.status === 'rejected') throw first;
  } catch (e) {
    rmSync(f.partial, { force: true });
    throw e;
  } finally {
    zeroize(key);
  }
  renameSync(f.partial, f.file);
  return { ...(wrapped ? { wrappedKey: wrapped } : {}), bytes: statSync(f.file).size };
}

/** The plaintext of a snapshot file as a stream (authenticated chunk by chunk; errors with StreamAuthenticationFailed). */
async function reader(d: KeyDeps, dbDir: string, rec: SnapshotRecord): Promise<{ streams: [NodeJS.ReadableStream, Transform]; key?: Buffer }> {
  const key = rec.encrypted ? await unwrapSnapshotKey(d, rec) : undefined;
  const src = createReadStream(snapshotFiles(dbDir, rec).file, { highWaterMark: 1 << 20 });
  return { streams: [src, openStream(key ? { dataKey: key } : {})], ...(key ? { key } : {}) };
}

/** Copy: source file -> open -> seal under the target's new data key -> target file. */
export async function copySnapshotFile(d: KeyDeps, dbDir: string, source: SnapshotRecord, target: SnapshotRecord, meter: Meter, signal?: AbortSignal): Promise<Written> {
  const f = snapshotFiles(dbDir, target);
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  rmSync(f.partial, { force: true });
  const total = source.bytes ?? 0;
  const { key, wrapped } = await newKey(d, target);
  const r = await reader(d, dbDir, source).catch((e: unknown) => { zeroize(key); throw e; });
  try {
    await pipeline(r.streams[0], r.streams[1], counter(total, meter), sealStream(key ? { dataKey: key } : {}), createWriteStream(f.partial, { mode: 0o600 }), ...(signal ? [{ signal }] : []));
  } catch (e) {
    rmSync(f.partial, { force: true });
    throw e;
  } finally {
    zeroize(key, r.key);
  }
  renameSync(f.partial, f.file);
  return { ...(wrapped ? { wrappedKey: wrapped } : {}), bytes: statSync(f.file).size };
}

/** Reads the whole file through the authenticated stream; throws StreamAuthenticationFailed at the first bad chunk. */
export async function verifySnapshotFile(d: KeyDeps, dbDir: string, rec: SnapshotRecord): Promise<void> {
  const r = await reader(d, dbDir, rec);
  try {
    await pipeline(r.streams[0], r.streams[1], new Writable({ write(_c, _e, cb) { cb(); } }));
  } finally {
    zeroize(r.key);
  }
}

/** Extracts the snapshot into an (empty) data directory as the server's OS user. */
export async function extractSnapshot(d: KeyDeps, dbDir: string, rec: SnapshotRecord, dataDir: string, ids: { uid?: number; gid?: number }): Promise<void> {
  const r = await reader(d, dbDir, rec);
  const x = extractFrom(dataDir, ids);
  try {
    // the stream's error (a damaged file) first: tar's complaint about the cut-off input would hide it
    const [fed, extracted] = await Promise.allSettled([pipeline(r.streams[0], r.streams[1], x.stdin), x.done]);
    if (fed.status === 'rejected') throw fed.reason;
    if (extracted.status === 'rejected') throw extracted.reason;
  } finally {
    zeroize(r.key);
  }
}
