import type { Socket } from 'node:net';
// Test doubles and helpers for the proxy: an in-memory SecretSource the test rotates itself (with
// the switching window the real secrets service has), a role with a SCRAM verifier, pgbench runs.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { postgresScramVerifier } from '../../src/crypto/scram.ts';
import { randomBytes } from '../../src/crypto/index.ts';
import type { SecretCredentials, SecretSource } from '../../src/proxy/ports.ts';
import type { StartedPostgres } from './pg.ts';

export class TestSecretSource implements SecretSource {
  private readonly secrets = new Map<string, { current: SecretCredentials; previous?: SecretCredentials }>();
  private readonly listeners = new Set<(arn: string) => void>();
  private switching: Promise<void> | undefined;
  private endSwitch: (() => void) | undefined;
  reads = 0;

  set(id: string, username: string, password: string): void {
    this.secrets.set(id, { current: { versionId: randomBytes(8).toString('hex'), username, password } });
  }

  /** Like a single-user rotation's setSecret..finishSecret window: AWSCURRENT reads wait until finish(). */
  beginSwitch(): void {
    this.switching ??= new Promise((r) => (this.endSwitch = r));
  }

  /** AWSCURRENT -> AWSPREVIOUS (demoted now), the new password becomes AWSCURRENT; listeners are told. */
  rotate(id: string, password: string): void {
    const s = this.secrets.get(id)!;
    const demoted = { ...s.current, demotedAt: new Date() };
    this.secrets.set(id, { current: { versionId: randomBytes(8).toString('hex'), username: s.current.username, password }, previous: demoted });
    const end = this.endSwitch;
    this.switching = undefined;
    this.endSwitch = undefined;
    end?.();
    for (const l of this.listeners) l(`arn:aws:secretsmanager:us-east-1:111122223333:secret:${id}-AbCdEf`);
  }

  async current(id: string): Promise<SecretCredentials> {
    this.reads++;
    if (this.switching) await this.switching;
    const s = this.secrets.get(id);
    if (!s) throw new Error(`no secret ${id}`);
    return { ...s.current };
  }

  async previous(id: string): Promise<SecretCredentials | undefined> {
    const p = this.secrets.get(id)?.previous;
    return p ? { ...p } : undefined;
  }

  onRotated(listener: (arn: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Creates a login role with a random password (set as a SCRAM verifier) that owns `database`'s public schema. */
export async function createRole(server: StartedPostgres, role: string): Promise<string> {
  const password = randomBytes(18).toString('base64url');
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    await c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${postgresScramVerifier(password)}'`);
    await c.query(`GRANT ALL ON SCHEMA public TO ${role}`);
    await c.query(`GRANT CREATE ON DATABASE ${server.database} TO ${role}`);
  } finally {
    await c.end();
  }
  return password;
}

export async function setRolePassword(server: StartedPostgres, role: string, password: string): Promise<void> {
  const c = new pg.Client({ connectionString: server.url });
  await c.connect();
  try {
    await c.query(`ALTER ROLE ${role} PASSWORD '${postgresScramVerifier(password)}'`);
  } finally {
    await c.end();
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env: Record<string, string>, input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    // The child may exit before reading its stdin (openssl s_client does): an EPIPE on stdin is
    // then expected and must not become an uncaught exception; the exit code tells the outcome.
    p.stdin.on('error', () => {});
    p.stdin.end(input ?? '');
  });
}

export interface PgbenchResult extends RunResult {
  processed: number;
  failed: number;
}

/** Parses pgbench's summary ("number of transactions actually processed", "number of failed transactions"). */
export function parsePgbench(r: RunResult): PgbenchResult {
  const processed = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? NaN);
  const failedMatch = /number of failed transactions: (\d+)/.exec(r.stdout);
  // pgbench without retries prints no failed line when it aborts: count aborted clients' errors instead
  // a client aborted by an error (e.g. while connecting with -C) is a failure even when pgbench's
  // own count of failed transactions stays 0
  const aborted = (r.stderr.match(/client \d+ aborted/g) ?? []).length;
  const failed = (failedMatch ? Number(failedMatch[1]) : r.code === 0 ? 0 : NaN) + aborted;
  return { ...r, processed, failed };
}

/** One PostgreSQL protocol message (type byte, length, body), for the fake servers of the proxy tests. */
export function pgMessage(type: string, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.write(type, 0, 'latin1');
  h.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([h, body]);
}
/** A NUL-terminated string field. */
export const cstr = (s: string): Buffer => Buffer.from(s + '\0', 'utf8');
/** AuthenticationOk and ReadyForQuery (idle), as a fake server sends them after login. */
export const AUTH_OK = pgMessage('R', Buffer.from([0, 0, 0, 0]));
export const READY = pgMessage('Z', Buffer.from('I'));

/**
 * A fake PostgreSQL server's side of one connection: the start-up packet is answered with
 * AuthenticationOk and ReadyForQuery, then every whole message goes to `message`. `data` sees the
 * raw bytes first (with whether the start-up was done); `started` runs once, at the start-up.
 */
export function fakeBackend(s: Socket, on: { message(type: string, body: Buffer): void; data?(d: Buffer, started: boolean): void; started?(): void }): void {
  let buf = Buffer.alloc(0);
  let started = false;
  s.setNoDelay(true);
  s.on('error', () => {});
  s.on('data', (d: Buffer) => {
    on.data?.(d, started);
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (!started) {
        if (buf.length < 4 || buf.length < buf.readUInt32BE(0)) return;
        buf = buf.subarray(buf.readUInt32BE(0));
        started = true;
        on.started?.();
        s.write(Buffer.concat([AUTH_OK, READY]));
        continue;
      }
      if (buf.length < 5 || buf.length < 1 + buf.readUInt32BE(1)) return;
      const type = String.fromCharCode(buf[0]!);
      const body = buf.subarray(5, 1 + buf.readUInt32BE(1));
      buf = buf.subarray(1 + buf.readUInt32BE(1));
      on.message(type, body);
    }
  });
}
