// A rekey server in a child process (test/helpers/db-child.ts) for the database crash tests
// (db-crash, db-snapshot-crash, db-change-key-crash): start it, call its DbService over IPC, move
// its clock, and wait for conditions; SIGKILL it with node.proc.kill('SIGKILL').
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./db-child.ts', import.meta.url));

export interface DbNode {
  proc: ChildProcess;
  exited: Promise<void>;
  // the IPC answer is whatever the DbService returned (JSON): the tests read the fields they check
  call(method: string, ...args: unknown[]): Promise<any>;
  setOffset(ms: number): Promise<void>;
  /** The last lines the child wrote to stderr (its log at REKEY_LOG_LEVEL), for a failing test's message. */
  stderrTail(): string;
}

const READY_WITHIN_MS = 120_000;

/** Starts a child server with `env` (REKEY_TEST_CHILD_DATA_DIR, REKEY_TEST_CRASH_AT, ...); resolves once it is ready. */
export async function startDbNode(env: Record<string, string>): Promise<DbNode> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  proc.stdout!.resume();
  if (process.env.DBG) proc.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stderrTail = () => stderr.split('\n').slice(-40).join('\n');
  await new Promise<void>((resolve, reject) => {
    // bounded: a node that never gets ready fails the test with its log instead of hanging it
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server not ready within ${READY_WITHIN_MS} ms: ${stderrTail()}`));
    }, READY_WITHIN_MS);
    proc.on('message', (m: { type?: string }) => { if (m.type === 'ready') { clearTimeout(timer); resolve(); } });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderrTail()}`)); });
  });
  let n = 0;
  // one exit listener for every call still waiting (a listener per call would pile up on a long test)
  const pending = new Map<number, (e: Error) => void>();
  proc.once('exit', () => { for (const reject of pending.values()) reject(new Error('node exited')); pending.clear(); });
  const call = (method: string, ...args: unknown[]) => new Promise<any>((resolve, reject) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return reject(new Error('node exited'));
    const id = ++n;
    const on = (x: { type?: string; n?: number; result?: unknown; error?: { name: string; message: string } }) => {
      if (x.type !== 'db-result' || x.n !== id) return;
      proc.off('message', on);
      pending.delete(id);
      if (x.error) reject(Object.assign(new Error(x.error.message), { name: x.error.name }));
      else resolve(x.result);
    };
    proc.on('message', on);
    pending.set(id, (e) => { proc.off('message', on); reject(e); });
    // with a callback, a node that died meanwhile is a rejection here, not an uncaught EPIPE
    proc.send({ type: 'db', n: id, method, args }, (err) => { if (err) { pending.delete(id); proc.off('message', on); reject(err); } });
  });
  const setOffset = (ms: number) => new Promise<void>((resolve) => {
    const on = (x: { type?: string }) => { if (x.type === 'offset-set') { proc.off('message', on); resolve(); } };
    proc.on('message', on);
    proc.once('exit', () => resolve());
    proc.send({ type: 'offset', ms }, () => {});
  });
  return { proc, exited, call, setOffset, stderrTail };
}

/** Polls `fn` every `every` ms until it returns a truthy value (errors count as not yet). */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 180_000, every = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Files under `dir` (not under paths `skip` accepts) whose bytes contain `needle`: the plaintext-on-disk check. */
export function grepFiles(dir: string, needle: Buffer, skip: (p: string) => boolean): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (skip(p)) continue;
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

/**
 * After a test that SIGKILLed rekey nodes: stops the PostgreSQL servers they left running (their
 * own process groups), unmounts the gocryptfs volumes under `dataDir`, and removes it.
 */
export async function cleanUpKilledNodes(dataDir: string): Promise<void> {
  const pids = spawnSync('sh', ['-c', `for f in $(find ${dataDir} -name postmaster.pid 2>/dev/null); do head -1 $f; done`], { encoding: 'utf8' })
    .stdout.split('\n').map(Number).filter((p) => p > 0);
  const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
  for (const pid of pids) try { process.kill(pid, 'SIGQUIT'); } catch { /* gone */ }
  await until('the left servers to exit', async () => pids.every((p) => !alive(p)), 10_000).catch(() => {});
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const at = line.split(' ')[1];
    if (at?.startsWith(dataDir)) spawnSync('fusermount3', ['-u', '-z', at]);
  }
  rmSync(dataDir, { recursive: true, force: true });
}
