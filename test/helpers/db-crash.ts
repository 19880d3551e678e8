// The SIGKILL-inside-a-step scenario of test/secrets-db-crash*.test.ts, for any database engine: a
// rekey server in a child process (test/helpers/server-child.ts) runs a rotation with a kill point
// armed (test/helpers/crash-strategies.ts); when the strategy reaches it the child blocks, the test
// kills it with SIGKILL, starts a fresh child on the same data directory (SQLite; its clock two
// minutes ahead, past the dead node's 30 s lease) and checks: the rotation finishes, AWSCURRENT logs
// in, the database's passwords are exactly the labelled versions' (no password lost), createSecret
// left one version, and the server goes on rotating.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeSecretCommand, ListSecretVersionIdsCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DbSecret } from '../../src/secrets/strategy.ts';
import { KILL_POINTS, type KillPoint } from './crash-strategies.ts';
import { createDbSecret, lambdaArn, readSecret, until } from './db-rotation-api.ts';
import { TEST_CREDS } from './server.ts';

const CHILD = fileURLToPath(new URL('./server-child.ts', import.meta.url));
const ENV = {
  REKEY_LOG_LEVEL: 'silent', REKEY_AUDIT_FILE: 'none',
  REKEY_DEV_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey,
};

interface Node { proc: ChildProcess; sm: SecretsManagerClient; exited: Promise<void> }

async function startNode(env: Record<string, string>): Promise<Node> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, ...ENV, ...env }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    proc.on('message', (m: { type?: string; url?: string }) => { if (m.type === 'ready') resolve(m.url!); });
    proc.once('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
  return { proc, exited, sm: new SecretsManagerClient({ endpoint: url, region: 'us-east-1', credentials: TEST_CREDS, maxAttempts: 1 }) };
}

async function setOffset(n: Node, ms: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const on = (m: { type?: string }) => { if (m.type === 'offset-set') { n.proc.off('message', on); resolve(); } };
    n.proc.on('message', on);
    n.proc.send({ type: 'offset', ms });
  });
}

const alive = (n: Node | undefined): n is Node => n !== undefined && n.proc.exitCode === null && n.proc.signalCode === null;

/** What a crash test needs from a database engine. */
export interface CrashEngine {
  /** The master login (alternating users). */
  master: DbSecret;
  /** A new login with a generated password, as the secret's AWSCURRENT. */
  createLogin(name: string): Promise<DbSecret>;
  /** The stored password hash of each of these logins that exists. */
  stored(names: string[]): Promise<Map<string, string>>;
  /** Whether `password` is the one behind a stored hash. */
  accepts(stored: string | undefined, password: string): boolean;
  /** Logs in and checks the session's user. */
  login(s: DbSecret): Promise<void>;
  /** Asserts that logging in with `s` is refused, by error code and message. */
  assertRefused(s: DbSecret): Promise<void>;
}

let seq = 0;

export async function killInside(e: CrashEngine, strategy: string, point: KillPoint, prefix: string): Promise<void> {
  const alternating = strategy.endsWith('-alternating-users');
  const dataDir = mkdtempSync(join(tmpdir(), 'rekey-db-crash-'));
  const markerDir = mkdtempSync(join(tmpdir(), 'rekey-db-crash-marker-'));
  const marker = join(markerDir, 'killpoint');
  const n = ++seq;
  const name = `${prefix}${alternating ? 'a' : 's'}${n}`;
  const roles = alternating ? [name, `${name}_clone`] : [name];
  const initial = await e.createLogin(name);
  let a: Node | undefined;
  let b: Node | undefined;
  try {
    a = await startNode({ REKEY_TEST_CHILD_DATA_DIR: dataDir, REKEY_TEST_KILL_AT: `${strategy}:${point}`, REKEY_TEST_KILL_MARKER: marker });
    const masterArn = alternating ? await createDbSecret(a.sm, `crash/master-${n}`, e.master) : undefined;
    const arn = await createDbSecret(a.sm, `crash/db-${n}`, { ...initial, ...(masterArn ? { masterarn: masterArn } : {}) });
    const created = (await a.sm.send(new ListSecretVersionIdsCommand({ SecretId: arn }))).Versions![0]!.VersionId!;
    const r = await a.sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn(strategy) }));
    const dead = a.exited.then(() => { throw new Error('the server exited before reaching the kill point'); });
    await Promise.race([dead, until(`kill point ${point}`, async () => existsSync(marker) && readFileSync(marker, 'utf8'))]);
    assert.equal(readFileSync(marker, 'utf8'), `${strategy}:${point}`);
    a.proc.kill('SIGKILL');
    await a.exited;

    // What the database holds at the kill: setSecret's change happened only at setSecret:after and later.
    const changed = KILL_POINTS.indexOf(point) >= KILL_POINTS.indexOf('setSecret:after');
    const atKill = await e.stored(roles);
    if (alternating) assert.equal(atKill.has(`${name}_clone`), changed, `the clone exists only after setSecret (${point})`);
    else assert.equal(e.accepts(atKill.get(name), initial.password), !changed, `the initial password works until setSecret (${point})`);

    b = await startNode({ REKEY_TEST_CHILD_DATA_DIR: dataDir });
    const sm = b.sm;
    await setOffset(b, 120_000); // past the dead node's lease
    const stages = async () => (await sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {};
    await until(`the rotation after a kill at ${point}`, async () => (await stages())[r.VersionId!]?.includes('AWSCURRENT'));
    // One rotation: the version created at createSecret (never a second pending one), labels as AWS moves them.
    const versions = (await sm.send(new ListSecretVersionIdsCommand({ SecretId: arn, IncludeDeprecated: true }))).Versions!;
    assert.deepEqual(versions.map((v) => [v.VersionId, v.VersionStages]).sort(), [[created, ['AWSPREVIOUS']], [r.VersionId, ['AWSCURRENT']]].sort());
    assert.ok((await sm.send(new DescribeSecretCommand({ SecretId: arn }))).LastRotatedDate);
    const current = await readSecret(sm, arn);
    const previous = await readSecret(sm, arn, { stage: 'AWSPREVIOUS' });
    assert.equal(previous.password, initial.password);
    assert.notEqual(current.password, initial.password);
    await e.login(current);
    // No password lost: every login the database has accepts exactly the password of the labelled
    // version for that user.
    const now = await e.stored(roles);
    if (alternating) {
      assert.equal(current.username, `${name}_clone`);
      assert.deepEqual([...now.keys()].sort(), roles);
      assert.ok(e.accepts(now.get(current.username), current.password), 'the clone has AWSCURRENT\'s password');
      assert.ok(e.accepts(now.get(previous.username), previous.password), 'the base login has AWSPREVIOUS\'s password');
      await e.login(previous);
    } else {
      assert.ok(e.accepts(now.get(name), current.password), 'the database has AWSCURRENT\'s password');
      await e.assertRefused(previous);
    }
    // The restarted server goes on rotating (for a kill in finishSecret, while the old job's step may
    // still be re-run: it must not move AWSCURRENT back).
    const r2 = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn(strategy) }));
    await until('the next rotation', async () => (await stages())[r2.VersionId!]?.includes('AWSCURRENT'));
    const next = await readSecret(sm, arn);
    await e.login(next);
    assert.ok(e.accepts((await e.stored([next.username])).get(next.username), next.password));
  } finally {
    if (alive(a)) a.proc.kill('SIGKILL');
    if (alive(b)) {
      b.proc.kill('SIGTERM');
      await b.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(markerDir, { recursive: true, force: true });
  }
}
