// One PostgreSQL server: initdb, start, stop, readiness. Runs as the server OS user
// (src/db/os-user.ts). The master password reaches initdb through a pipe (--pwfile=/dev/stdin):
// never argv, environment or a file. Node's `stdio: 'pipe'` is a socket pair, which initdb cannot
// open as /dev/stdin, so a `cat` in front turns it into a real pipe.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { zeroize } from '../crypto/index.ts';
import type { ServerUser } from './os-user.ts';

export interface ClusterInit {
  binDir: string;
  dataDir: string;
  user: ServerUser;
  masterUsername: string;
  /** Zeroed by initCluster. */
  masterPassword: Buffer;
  logFile: string;
}

const ids = (u: ServerUser) => (u.uid !== undefined ? { uid: u.uid, gid: u.gid! } : {});

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-4).join(' | ').slice(0, 800);
  } catch {
    return '';
  }
}

export function initCluster(o: ClusterInit): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = openSync(o.logFile, 'a', 0o600);
    const args = ['-D', o.dataDir, '--auth=scram-sha-256', '-U', o.masterUsername, '--pwfile=/dev/stdin', '-E', 'UTF8', '--locale=C'];
    const child = spawn('/bin/sh', ['-c', 'cat | "$@"', 'sh', join(o.binDir, 'initdb'), ...args], { ...ids(o.user), stdio: ['pipe', log, log], cwd: '/' });
    closeSync(log);
    const pw = Buffer.concat([o.masterPassword, Buffer.from('\n')]);
    zeroize(o.masterPassword);
    child.stdin!.on('error', () => {});
    child.stdin!.end(pw, () => zeroize(pw));
    child.on('error', reject);
    child.on('exit', (code) => {
      zeroize(pw);
      if (code === 0) resolve();
      else reject(new Error(`initdb exited with ${code}: ${tail(o.logFile)}`));
    });
  });
}

export interface ServerStart {
  binDir: string;
  dataDir: string;
  user: ServerUser;
  port: number;
  logFile: string;
  settings: Record<string, string>;
}

/** Starts the postmaster (its own process group: it outlives rekey and is re-adopted). Resolves once it accepts connections. */
export async function startServer(o: ServerStart, timeoutMs = 60_000): Promise<ChildProcess> {
  const settings: Record<string, string> = { listen_addresses: '127.0.0.1', port: String(o.port), unix_socket_directories: '', ...o.settings };
  const log = openSync(o.logFile, 'a', 0o600);
  const child = spawn(join(o.binDir, 'postgres'), ['-D', o.dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])], {
    ...ids(o.user), stdio: ['ignore', log, log], cwd: '/', detached: true,
  });
  closeSync(log);
  child.unref();
  let exited = false;
  child.once('exit', () => { exited = true; });
  child.on('error', () => { exited = true; });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`postgres exited during start: ${tail(o.logFile)}`);
    const pm = readPostmaster(o.dataDir);
    // 'standby': a hot standby accepting read-only connections (change-key's replica)
    if (pm && pm.pid === child.pid && (pm.status === 'ready' || pm.status === 'standby')) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGQUIT');
  throw new Error(`postgres did not become ready within ${timeoutMs} ms: ${tail(o.logFile)}`);
}

/** postmaster.pid: line 1 pid, line 4 port, line 8 status (PostgreSQL's pidfile.h). */
export function readPostmaster(dataDir: string): { pid: number; port: number; status: string } | null {
  const file = join(dataDir, 'postmaster.pid');
  if (!existsSync(file)) return null;
  try {
    const lines = readFileSync(file, 'utf8').split('\n');
    return { pid: Number(lines[0]), port: Number(lines[3]), status: (lines[7] ?? '').trim() };
  } catch {
    return null;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A running postmaster of this data directory (re-adoption after a rekey restart), or null. */
export function runningPostmaster(dataDir: string): number | null {
  const pm = readPostmaster(dataDir);
  return pm && pm.pid > 0 && alive(pm.pid) ? pm.pid : null;
}

/** Sends `first`, then `then` after `graceMs`; resolves when the process is gone (a database server's stop). */
export async function stopProcess(pid: number, first: NodeJS.Signals, then: NodeJS.Signals, graceMs: number, pollMs = 10): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, first);
  } catch {
    return;
  }
  const start = Date.now();
  let escalated = false;
  while (alive(pid)) {
    if (!escalated && Date.now() - start > graceMs) {
      escalated = true;
      try { process.kill(pid, then); } catch { /* gone */ }
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Fast shutdown (SIGINT); immediate (SIGQUIT) after `graceMs`; resolves when the process is gone. */
export function stopServer(pid: number, graceMs = 15_000): Promise<void> {
  return stopProcess(pid, 'SIGINT', 'SIGQUIT', graceMs);
}

/**
 * Immediate shutdown (SIGQUIT): the postmaster ends every child at once and exits without a
 * checkpoint (the next start runs crash recovery). change-key's fence, once the standby holds all
 * the WAL that matters. Resolves when the process is gone.
 */
export async function stopServerNow(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    return;
  }
  while (alive(pid)) await new Promise((r) => setTimeout(r, 2));
}

/**
 * Kills what a crashed rekey left working on a data directory that is about to be made again (an
 * initdb and its bootstrap backend, or change-key's pg_basebackup, still running: they outlive their parent) and waits until they
 * are gone. Found through /proc/<pid>/cmdline naming the directory.
 */
export async function killStrays(dataDir: string): Promise<number> {
  const found: number[] = [];
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return 0;
  }
  for (const d of pids) {
    const pid = Number(d);
    if (pid === process.pid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const prog = argv[0]?.split('/').pop() ?? '';
    if ((prog === 'initdb' || prog === 'postgres' || prog === 'pg_basebackup') && argv.some((a) => a === dataDir || a === `--pgdata=${dataDir}`)) found.push(pid);
  }
  for (const pid of found) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  const end = Date.now() + 10_000;
  while (found.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  return found.length;
}
