// The MariaDB engine (src/db/server-engine.ts): the OS's /usr/sbin/mariadbd, run as the server OS
// user (`mysql` on Debian when rekey runs as root). Its options, the key-management plugin's token
// among them, are in <base>/my.cnf (on the encrypted volume for StorageEncrypted; mode 0600, owned by
// the server user), never in argv: `mariadbd --defaults-file=<base>/my.cnf`. The socket and pid file
// are in the run directory outside the volume (<root>/run). Accounts are made over the socket as the
// `root` that mariadb-install-db leaves, which is then dropped with every other account but the master
// user, rekey_admin and mariadb.sys: nothing logs in without a password. Passwords reach the server
// as mysql_native_password hashes only.
import { spawn } from 'node:child_process';
import { chownSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { mysqlNativePasswordHash } from '../crypto/scram.ts';
import { zeroize } from '../crypto/index.ts';
import { ADMIN_ROLE, type InstanceRecord } from './model.ts';
import type { ServerUser } from './os-user.ts';
import { alive, stopProcess } from './pg-server.ts';
import type { ServerEngine, ServerPaths } from './server-engine.ts';

export const MARIADBD = '/usr/sbin/mariadbd';
export const INSTALL_DB = '/usr/bin/mariadb-install-db';

const VAULT_CA = 'hashicorp-key-management-vault-ca';
const ids = (u: ServerUser) => (u.uid !== undefined ? { uid: u.uid, gid: u.gid! } : {});
const cnfPath = (p: ServerPaths) => join(p.base, 'my.cnf');
const socketPath = (p: ServerPaths) => join(p.runDir, 'mysqld.sock');
const pidPath = (p: ServerPaths) => join(p.runDir, 'mariadbd.pid');

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter((l) => !/token/i.test(l)).slice(-6).join(' | ').slice(0, 1200);
  } catch {
    return '';
  }
}

/** my.cnf for the server: its files, port, and the settings (the key-management plugin's among them). */
function writeCnf(p: ServerPaths, user: ServerUser, port: number, input: Record<string, string>): void {
  const settings = { ...input };
  const ca = settings[VAULT_CA];
  if (ca !== undefined) {
    // rekey's CA bundle, where the server user can read it
    const copy = join(p.base, 'rekey-ca.pem');
    copyFileSync(ca, copy);
    if (user.uid !== undefined) chownSync(copy, user.uid, user.gid!);
    settings[VAULT_CA] = copy;
  }
  const lines = [
    '[mariadbd]', `datadir = ${p.dataDir}`, `socket = ${socketPath(p)}`, `pid-file = ${pidPath(p)}`, `log-error = ${p.logFile}`,
    `port = ${port}`, 'bind-address = 127.0.0.1', 'skip-name-resolve', `tmpdir = ${join(p.base, 'tmp')}`,
    ...Object.entries(settings).map(([k, v]) => `${k} = ${v}`), '',
  ];
  const file = cnfPath(p);
  writeFileSync(file, lines.join('\n'), { mode: 0o600 });
  // the server (another OS user) writes its error log and temporary files itself
  if (!existsSync(p.logFile)) closeSync(openSync(p.logFile, 'a', 0o600));
  mkdirSync(join(p.base, 'tmp'), { recursive: true, mode: 0o700 });
  if (user.uid !== undefined) for (const f of [file, p.logFile, join(p.base, 'tmp')]) chownSync(f, user.uid, user.gid!);
}

/** The port in a running mariadbd's argv is not there (it is in my.cnf): the cnf written at its start says it. */
function cnfPort(p: ServerPaths): number {
  try {
    return Number(/^port = (\d+)$/m.exec(readFileSync(cnfPath(p), 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function isMariadbd(pid: number, p: ServerPaths): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return (argv[0] ?? '').endsWith('mariadbd') && argv.includes(`--defaults-file=${cnfPath(p)}`);
  } catch {
    return false;
  }
}

/** Resolves once something accepts a TCP connection on the port and greets (MariaDB listens only once it serves). */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => { s.destroy(); resolve(ok); };
    s.setTimeout(2000, () => done(false));
    s.once('data', () => done(true));
    s.once('error', () => done(false));
  });
}

async function asAdmin<T>(rec: InstanceRecord, p: ServerPaths, fn: (c: mysql.Connection) => Promise<T>, connectTimeout = 10_000): Promise<T> {
  const c = await mysql.createConnection({ socketPath: socketPath(p), user: ADMIN_ROLE, password: rec.adminPassword, connectTimeout });
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => c.destroy());
  }
}

export const mariadbEngine: ServerEngine = {
  engine: 'mariadb',
  dataDirName: 'mysql',
  logName: 'mariadb.log',

  async init({ paths, user, masterPassword, settings }) {
    // the master password is set by setupAccounts, after the first start
    zeroize(masterPassword);
    // with the encryption settings: the system tables are made encrypted
    writeCnf(paths, user, 0, settings);
    await new Promise<void>((resolve, reject) => {
      const log = openSync(paths.logFile, 'a', 0o600);
      const child = spawn(INSTALL_DB, [`--defaults-file=${cnfPath(paths)}`, '--auth-root-authentication-method=normal', '--skip-test-db'], {
        ...ids(user), stdio: ['ignore', log, log], cwd: '/',
      });
      closeSync(log);
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mariadb-install-db exited with ${code}: ${tail(paths.logFile)}`))));
    });
  },

  async start({ paths, user, port, settings }, timeoutMs = 120_000) {
    writeCnf(paths, user, port, settings);
    const child = spawn(MARIADBD, [`--defaults-file=${cnfPath(paths)}`], { ...ids(user), stdio: 'ignore', cwd: '/', detached: true });
    child.unref();
    let exited = false;
    child.once('exit', () => { exited = true; });
    child.on('error', () => { exited = true; });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`mariadbd exited during start: ${tail(paths.logFile)}`);
      if (await greets(port)) return child;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    throw new Error(`mariadbd did not serve within ${timeoutMs} ms: ${tail(paths.logFile)}`);
  },

  running(paths) {
    let pid = 0;
    try {
      pid = Number(readFileSync(pidPath(paths), 'utf8').trim());
    } catch {
      return null;
    }
    return pid > 0 && alive(pid) && isMariadbd(pid, paths) ? { pid, port: cnfPort(paths) } : null;
  },

  async stop(pid, graceMs = 60_000) {
    await stopProcess(pid, 'SIGTERM', 'SIGKILL', graceMs, 20); // MariaDB: SIGTERM is its normal shutdown
  },

  async killStrays(paths) {
    const found: number[] = [];
    for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
        if ((argv[0] ?? '').endsWith('mariadbd') && argv.some((a) => a === `--defaults-file=${cnfPath(paths)}` || a === `--datadir=${paths.dataDir}`)) found.push(Number(d));
      } catch {
        /* gone */
      }
    }
    for (const pid of found) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    const end = Date.now() + 10_000;
    while (found.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    return found.length;
  },

  async setupAccounts(rec, paths, _port, masterPassword) {
    // the first time as install-db's root (socket, no password); again (a retried job) as rekey_admin
    let c: mysql.Connection;
    try {
      c = await mysql.createConnection({ socketPath: socketPath(paths), user: 'root', connectTimeout: 10_000 });
    } catch {
      c = await mysql.createConnection({ socketPath: socketPath(paths), user: ADMIN_ROLE, password: rec.adminPassword, connectTimeout: 10_000 });
    }
    try {
      const keep = new Set([`${rec.masterUsername}@%`, `${ADMIN_ROLE}@localhost`, 'mariadb.sys@localhost']);
      await c.query('CREATE OR REPLACE USER ?@? IDENTIFIED BY PASSWORD ?', [ADMIN_ROLE, 'localhost', mysqlNativePasswordHash(rec.adminPassword)]);
      await c.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [ADMIN_ROLE, 'localhost']);
      await c.query('CREATE OR REPLACE USER ?@? IDENTIFIED BY PASSWORD ?', [rec.masterUsername, '%', mysqlNativePasswordHash(masterPassword)]);
      await c.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [rec.masterUsername, '%']);
      if (rec.dbName) await c.query('CREATE DATABASE IF NOT EXISTS ??', [rec.dbName]);
      const [users] = await c.query('SELECT User, Host FROM mysql.user') as [{ User: string; Host: string }[], unknown];
      for (const u of users) if (!keep.has(`${u.User}@${u.Host}`)) await c.query('DROP USER ?@?', [u.User, u.Host]);
      // the accounts into the Aria system tables' files now: a later crash recovery that goes wrong
      // (docs/MARIADB.md) must not fall back to install-db's passwordless root
      await c.query('FLUSH TABLES');
    } finally {
      await c.end().catch(() => c.destroy());
    }
  },

  async setMasterPassword(rec, paths, _port, password) {
    await asAdmin(rec, paths, async (c) => {
      await c.query('ALTER USER ?@? IDENTIFIED BY PASSWORD ?', [rec.masterUsername, '%', mysqlNativePasswordHash(password)]);
      await c.query('FLUSH TABLES mysql.global_priv'); // into the Aria file (see setupAccounts)
    });
  },
};

/** Rows of a query as rekey_admin over the instance's socket (rotation progress). */
export async function mariadbAdminRows<T>(rec: InstanceRecord, paths: ServerPaths, sql: string): Promise<T[]> {
  // DescribeDBInstances waits for it: a server that does not answer at once shows no progress
  return asAdmin(rec, paths, async (c) => (await c.query({ sql, timeout: 3000 }))[0] as T[], 3000);
}

/**
 * Several queries as rekey_admin over one connection (key versions: src/db/mariadb-retire.ts). Each
 * query answers within `timeoutMs` (default 3 s, as DescribeDBInstances waits for it) or fails.
 */
export async function mariadbAdminSession<T>(rec: InstanceRecord, paths: ServerPaths, fn: (q: <R>(sql: string, timeoutMs?: number) => Promise<R[]>) => Promise<T>): Promise<T> {
  return asAdmin(rec, paths, (c) => fn(async <R>(sql: string, timeoutMs = 3000) => (await c.query({ sql, timeout: timeoutMs }))[0] as R[]), 3000);
}

export const mariadbInstalled = (): boolean => existsSync(MARIADBD) && existsSync(INSTALL_DB);
