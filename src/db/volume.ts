// Encrypted volumes: gocryptfs over FUSE. A volume is two directories: `cipher/` (what lands on the
// disk: gocryptfs.conf, whose master key is wrapped by the volume password, and the encrypted
// files) and `mnt/` (the plaintext view while mounted). The volume password is a KMS data key
// (src/db/volume-key.ts): it goes to gocryptfs on stdin, never in argv, the environment or a file.
//
// gocryptfs (man gocryptfs): "If no password file or extpass is given, gocryptfs reads the
// password from stdin (if stdin is not a terminal)". The mount daemonizes after it is ready
// (the parent exits 0 once the filesystem is mounted), so a mount outlives a rekey restart and is
// re-adopted (isMounted) instead of mounted twice.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zeroize } from '../crypto/index.ts';

export interface VolumeTools {
  gocryptfs: string;
  fusermount: string;
}

const CANDIDATES = { gocryptfs: ['/usr/local/bin/gocryptfs', '/usr/bin/gocryptfs', '/bin/gocryptfs'], fusermount: ['/usr/bin/fusermount3', '/bin/fusermount3', '/usr/bin/fusermount'] };

/**
 * The oldest gocryptfs that is safe when it runs as root with -allow_other (rekey as root, the
 * database server as another OS user). gocryptfs then creates each file as the calling user by
 * switching the thread's uid/gid/groups; since Go 1.16 Go's and x/sys' Setreuid/Setregid/Setgroups
 * switch every thread of the process, so two files created at once race and one fails with EPERM
 * (rfjakob/gocryptfs#893; fixed in 2.5.2 by commit 6b1ba58, "use our own Setgroups/Setregid/Setreuid
 * wrappers"). Measured here: pg_basebackup into a mount of Debian 12's gocryptfs 2.3 failed 3 times
 * in 4 and Debian 13's 2.5.1 7 in 12 ("could not open write-ahead log file ...: Operation not
 * permitted"), 2.6.1 0 in 12. A running PostgreSQL creates files concurrently too (WAL segments,
 * relation forks), where an EPERM is a PANIC.
 */
export const MIN_GOCRYPTFS_AS_ROOT: readonly [number, number, number] = [2, 5, 2];

/** `gocryptfs -version`'s version ("gocryptfs 2.3; go-fuse ..." or "gocryptfs v2.4.0-14-g...") or null. */
export function gocryptfsVersion(bin: string): [number, number, number] | null {
  const r = spawnSync(bin, ['-version'], { encoding: 'utf8', timeout: 10_000 });
  const m = /gocryptfs v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

const atLeast = (v: readonly number[], min: readonly number[]): boolean => {
  for (let i = 0; i < min.length; i++) if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > min[i]!;
  return true;
};

/**
 * What StorageEncrypted needs on this host, or a sentence naming what is missing and how to install
 * it. `REKEY_GOCRYPTFS` names the binary; otherwise the first of /usr/local/bin, /usr/bin, /bin.
 * When rekey runs as root (servers as another OS user: -allow_other), a gocryptfs older than
 * MIN_GOCRYPTFS_AS_ROOT is refused: it loses file creations under concurrency (see above).
 */
export function findVolumeTools(env: NodeJS.ProcessEnv = process.env, asRoot: boolean = process.getuid?.() === 0): VolumeTools | string {
  const wanted = env['REKEY_GOCRYPTFS'];
  const found = wanted ? [wanted].filter((p) => existsSync(p)) : CANDIDATES.gocryptfs.filter((p) => existsSync(p));
  const fusermount = CANDIDATES.fusermount.find((p) => existsSync(p));
  const missing = [...(found.length > 0 ? [] : [wanted ? `gocryptfs (REKEY_GOCRYPTFS=${wanted} does not exist)` : 'gocryptfs']), ...(fusermount ? [] : ['fuse3 (fusermount3)']), ...(existsSync('/dev/fuse') ? [] : ['the FUSE device /dev/fuse'])];
  if (missing.length > 0 || found.length === 0 || !fusermount) {
    return `StorageEncrypted needs gocryptfs and FUSE on the rekey host; missing: ${missing.join(', ')}. Install them (Debian/Ubuntu: apt-get install gocryptfs fuse3) and make /dev/fuse available.`;
  }
  if (!asRoot) return { gocryptfs: found[0]!, fusermount };
  const seen: string[] = [];
  for (const bin of found) {
    const v = gocryptfsVersion(bin);
    if (v && atLeast(v, MIN_GOCRYPTFS_AS_ROOT)) return { gocryptfs: bin, fusermount };
    seen.push(`${bin} is ${v ? v.join('.') : 'of an unknown version'}`);
  }
  return `StorageEncrypted, with rekey running as root and the database servers as another OS user, needs gocryptfs >= ${MIN_GOCRYPTFS_AS_ROOT.join('.')}: older versions fail concurrent file creation with EPERM under -allow_other (rfjakob/gocryptfs#893); ${seen.join('; ')}. Install a newer one (Debian 13 backports or later: scripts/install-gocryptfs.sh puts it in /usr/local/bin) or name it with REKEY_GOCRYPTFS.`;
}

export interface VolumePaths {
  cipherDir: string;
  mountDir: string;
}

export const volumePaths = (root: string): VolumePaths => ({ cipherDir: join(root, 'cipher'), mountDir: join(root, 'mnt') });

/** The volume password gocryptfs reads: the data key in hex, as bytes (no JS string holds it). */
function passwordBytes(key: Uint8Array): Buffer {
  const hex = '0123456789abcdef';
  const out = Buffer.alloc(key.length * 2 + 1);
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = hex.charCodeAt(key[i]! >> 4);
    out[2 * i + 1] = hex.charCodeAt(key[i]! & 15);
  }
  out[out.length - 1] = 0x0a;
  return out;
}

function run(cmd: string, args: string[], key: Uint8Array, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // stdout/stderr to a log file: the mounting daemon keeps them open after the parent exits.
    const log = openSync(logFile, 'a', 0o600);
    const child = spawn(cmd, args, { stdio: ['pipe', log, log] });
    closeSync(log);
    const pw = passwordBytes(key);
    child.stdin!.on('error', () => {});
    child.stdin!.end(pw, () => zeroize(pw));
    child.on('error', (e) => reject(e));
    child.on('exit', (code, signal) => {
      zeroize(pw);
      if (code === 0) resolve();
      else reject(new Error(`${cmd.split('/').pop()} ${args[0]} exited with ${code ?? signal}: ${tailOf(logFile)}`));
    });
  });
}

function tailOf(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ').slice(0, 600);
  } catch {
    return '';
  }
}

/** Creates the cipher directory's gocryptfs.conf (master key wrapped by `key`). Idempotent only in the sense that a half-made conf is replaced by the caller removing the volume. */
export async function initVolume(tools: VolumeTools, paths: VolumePaths, key: Uint8Array, logFile: string): Promise<void> {
  mkdirSync(paths.cipherDir, { recursive: true, mode: 0o700 });
  mkdirSync(paths.mountDir, { recursive: true, mode: 0o755 });
  // -scryptn 10: the password is a 256-bit random key, so scrypt hardening buys nothing (10 is gocryptfs' minimum).
  await run(tools.gocryptfs, ['-init', '-q', '-scryptn', '10', paths.cipherDir], key, logFile);
}

export const isInitialized = (paths: VolumePaths): boolean => existsSync(join(paths.cipherDir, 'gocryptfs.conf'));

/** Whether `dir` is a mount point now (from /proc/self/mountinfo). */
export function isMounted(dir: string): boolean {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return false;
  }
  // field 5 is the mount point, with spaces etc. octal-escaped
  const esc = dir.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return info.split('\n').some((line) => line.split(' ')[4] === esc);
}

/** Mounts the volume (no-op when already mounted). `allowOther`: other OS users (the database server's) may use it. */
export async function mountVolume(tools: VolumeTools, paths: VolumePaths, key: Uint8Array, logFile: string, allowOther: boolean): Promise<void> {
  if (isMounted(paths.mountDir)) return;
  mkdirSync(paths.mountDir, { recursive: true, mode: 0o755 });
  // -kernel_cache: the kernel keeps plaintext pages across opens. Safe because nothing but this mount
  // writes the cipher directory (gocryptfs' man page: only with a CIPHERDIR not changed elsewhere);
  // it spares PostgreSQL's reads of cached pages the trip through FUSE.
  await run(tools.gocryptfs, ['-q', '-nosyslog', '-kernel_cache', ...(allowOther ? ['-allow_other'] : []), paths.cipherDir, paths.mountDir], key, logFile);
}

/** Unmounts (no-op when not mounted). Lazy unmount when busy after a few tries. */
export async function unmountVolume(tools: VolumeTools, paths: VolumePaths): Promise<void> {
  for (let i = 0; i < 20 && isMounted(paths.mountDir); i++) {
    const r = spawnSync(tools.fusermount, ['-u', ...(i >= 15 ? ['-z'] : []), paths.mountDir], { stdio: 'ignore' });
    if (r.status === 0) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  if (isMounted(paths.mountDir)) throw new Error(`could not unmount ${paths.mountDir}`);
}
