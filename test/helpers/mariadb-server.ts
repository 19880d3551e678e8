// A private mariadbd for the MariaDB tests (never the machine's shared server): its own data
// directory, port and socket, the options the test gives (the plugin against a test rekey server),
// and a way to wait until it serves or exits.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

export const MARIADBD = '/usr/sbin/mariadbd';
export const PLUGIN_SO = '/usr/lib/mysql/plugin/hashicorp_key_management.so';

/** Why the MariaDB tests cannot run here (false when they can). Under CI=true the caller fails instead of skipping. */
export function mariaDbMissing(): string | false {
  if (!existsSync(MARIADBD)) return `${MARIADBD} is not installed`;
  if (!existsSync(PLUGIN_SO)) return `${PLUGIN_SO} is not installed (apt-get install mariadb-plugin-hashicorp-key-management)`;
  return false;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** mariadb-install-db into `dir`/data with `flags` (the encryption options: system tables are made encrypted). */
export async function installDataDir(dir: string, flags: readonly string[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await promisify(execFile)('mariadb-install-db', [
    '--no-defaults', `--datadir=${join(dir, 'data')}`, '--auth-root-authentication-method=normal', '--user=root', '--skip-test-db',
    ...flags,
  ], { timeout: 60_000 });
}

export interface MariaDb {
  proc: ChildProcess;
  socket: string;
  port: number;
  dataDir: string;
  errorLog: string;
  exited: Promise<number | null>;
  connect(): Promise<mysql.Connection>;
  log(): string;
  stop(): Promise<void>;
}

/** Starts mariadbd; resolves once a client can connect, rejects with the error log if it exits first. */
export async function startMariaDb(dir: string, flags: readonly string[], o: { waitMs?: number } = {}): Promise<MariaDb> {
  const port = await freePort();
  const socket = join(dir, 'mysqld.sock');
  const dataDir = join(dir, 'data');
  const errorLog = join(dir, 'error.log');
  const proc = spawn(MARIADBD, [
    '--no-defaults', `--datadir=${dataDir}`, `--port=${port}`, `--socket=${socket}`, '--bind-address=127.0.0.1', '--user=root',
    `--log-error=${errorLog}`, `--pid-file=${join(dir, 'mysqld.pid')}`, `--log-bin=${join(dataDir, 'binlog')}`, '--server-id=1',
    `--tmpdir=${dir}`, '--skip-name-resolve', '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M',
    ...flags,
  ], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const log = () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');
  const connect = () => mysql.createConnection({ socketPath: socket, user: 'root' });
  let gone = false;
  void exited.then(() => { gone = true; });
  const end = Date.now() + (o.waitMs ?? 60_000);
  for (;;) {
    if (gone) throw Object.assign(new Error(`mariadbd exited before serving:\n${log().slice(-3000)}`), { log: log() });
    try {
      const c = await connect();
      await c.end();
      break;
    } catch {
      if (Date.now() > end) {
        proc.kill('SIGKILL');
        throw new Error(`mariadbd did not serve within ${o.waitMs ?? 60_000} ms:\n${log().slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    proc, socket, port, dataDir, errorLog, exited, connect, log,
    async stop() {
      if (gone) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    },
  };
}
