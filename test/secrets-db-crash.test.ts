// SIGKILL inside each rotation step, with the real PostgreSQL strategies: a rekey server in a child
// process (test/helpers/server-child.ts) runs a rotation with a kill point armed
// (test/helpers/crash-strategies.ts); when the strategy reaches it the child blocks, the test kills
// it with SIGKILL, starts a fresh child on the same data directory (SQLite; its clock two minutes
// ahead, past the dead node's 30 s lease) and checks: the rotation finishes, AWSCURRENT logs in,
// the database's passwords are exactly the labelled versions' (no password lost), and createSecret
// left one version.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { DescribeSecretCommand, ListSecretVersionIdsCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomBytes } from '../src/crypto/index.ts';
import { parsePostgresScramVerifier, postgresScramVerifier } from '../src/crypto/scram.ts';
import type { DbSecret } from '../src/secrets/strategy.ts';
import { KILL_POINTS, type KillPoint } from './helpers/crash-strategies.ts';
import { createDbSecret, lambdaArn, readSecret, until } from './helpers/db-rotation-api.ts';
import { startPostgres, type StartedPostgres } from './helpers/pg.ts';
import { TEST_CREDS } from './helpers/server.ts';

const CHILD = fileURLToPath(new URL('./helpers/server-child.ts', import.meta.url));
const ENV = {
  REKEY_LOG_LEVEL: 'silent', REKEY_AUDIT_FILE: 'none',
  REKEY_DEV_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey,
};

let db: StartedPostgres;
let admin: pg.Client;
let masterSecret: DbSecret;

before(async () => {
  db = await startPostgres();
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  masterSecret = { engine: 'postgres', host: '127.0.0.1', port: db.port, username: db.user, password: db.password, dbname: db.database };
});
after(async () => {
  await admin?.end();
  await db?.stop();
});

interface Node { proc: ChildProcess; url: string; sm: SecretsManagerClient; exited: Promise<void> }

async function startNode(env: Record<string, string>): Promise<Node> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, ...ENV, ...env }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    proc.on('message', (m: { type?: string; url?: string }) => { if (m.type === 'ready') resolve(m.url!); });
    proc.once('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
  const sm = new SecretsManagerClient({ endpoint: url, region: 'us-east-1', credentials: TEST_CREDS, maxAttempts: 1 });
  return { proc, url, sm, exited };
}

async function setOffset(n: Node, ms: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const on = (m: { type?: string }) => { if (m.type === 'offset-set') { n.proc.off('message', on); resolve(); } };
    n.proc.on('message', on);
    n.proc.send({ type: 'offset', ms });
  });
}

async function stopNode(n: Node | undefined): Promise<void> {
  if (!n || n.proc.exitCode !== null || n.proc.signalCode !== null) return;
  n.proc.kill('SIGTERM');
  await n.exited;
}

async function createLogin(name: string): Promise<DbSecret> {
  const password = randomBytes(24).toString('base64url');
  await admin.query(`CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN PASSWORD '${postgresScramVerifier(password)}'`);
  return { ...masterSecret, username: name, password };
}

/** The SCRAM verifiers PostgreSQL holds for these roles (absent roles are left out). */
async function verifiers(names: string[]): Promise<Map<string, string>> {
  const r = await admin.query('SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1) AND rolcanlogin', [names]);
  return new Map(r.rows.map((x: { rolname: string; rolpassword: string }) => [x.rolname, x.rolpassword]));
}

/** Whether `password` is the one behind PostgreSQL's stored verifier (same salt and iterations). */
function accepts(verifier: string | undefined, password: string): boolean {
  const k = verifier ? parsePostgresScramVerifier(verifier) : undefined;
  return k !== undefined && postgresScramVerifier(password, k.salt, k.iterations) === verifier;
}

async function login(s: DbSecret): Promise<void> {
  const c = new pg.Client({ host: s.host, port: Number(s.port), user: s.username, password: s.password, database: String(s.dbname) });
  await c.connect();
  try {
    assert.equal((await c.query('SELECT session_user AS u')).rows[0].u, s.username);
  } finally {
    await c.end();
  }
}

let seq = 0;

async function killInside(strategy: 'postgresql-single-user' | 'postgresql-alternating-users', point: KillPoint): Promise<void> {
  const alternating = strategy === 'postgresql-alternating-users';
  const dataDir = mkdtempSync(join(tmpdir(), 'rekey-db-crash-'));
  const markerDir = mkdtempSync(join(tmpdir(), 'rekey-db-crash-marker-'));
  const marker = join(markerDir, 'killpoint');
  const name = `crash_${alternating ? 'alt' : 'su'}_${++seq}`;
  const roles = alternating ? [name, `${name}_clone`] : [name];
  const initial = await createLogin(name);
  let a: Node | undefined;
  let b: Node | undefined;
  try {
    a = await startNode({ REKEY_TEST_CHILD_DATA_DIR: dataDir, REKEY_TEST_KILL_AT: `${strategy}:${point}`, REKEY_TEST_KILL_MARKER: marker });
    const masterArn = alternating ? await createDbSecret(a.sm, `crash/master-${seq}`, masterSecret) : undefined;
    const arn = await createDbSecret(a.sm, `crash/db-${seq}`, { ...initial, ...(masterArn ? { masterarn: masterArn } : {}) });
    const created = (await a.sm.send(new ListSecretVersionIdsCommand({ SecretId: arn }))).Versions![0]!.VersionId!;
    const r = await a.sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn(strategy) }));
    const dead = a.exited.then(() => { throw new Error('the server exited before reaching the kill point'); });
    await Promise.race([dead, until(`kill point ${point}`, async () => existsSync(marker) && readFileSync(marker, 'utf8'))]);
    assert.equal(readFileSync(marker, 'utf8'), `${strategy}:${point}`);
    a.proc.kill('SIGKILL');
    await a.exited;

    // What the database holds at the kill: setSecret's change happened only at setSecret:after and later.
    const changed = KILL_POINTS.indexOf(point) >= KILL_POINTS.indexOf('setSecret:after');
    const atKill = await verifiers(roles);
    if (alternating) assert.equal(atKill.has(`${name}_clone`), changed, `the clone exists only after setSecret (${point})`);
    else assert.equal(accepts(atKill.get(name), initial.password), !changed, `the initial password works until setSecret (${point})`);

    b = await startNode({ REKEY_TEST_CHILD_DATA_DIR: dataDir });
    await setOffset(b, 120_000); // past the dead node's lease
    await until(`the rotation after a kill at ${point}`, async () => (await b!.sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages?.[r.VersionId!]?.includes('AWSCURRENT'));
    // One rotation: the version created at createSecret (never a second pending one), labels as AWS moves them.
    const versions = (await b.sm.send(new ListSecretVersionIdsCommand({ SecretId: arn, IncludeDeprecated: true }))).Versions!;
    assert.deepEqual(versions.map((v) => [v.VersionId, v.VersionStages]).sort(), [[created, ['AWSPREVIOUS']], [r.VersionId, ['AWSCURRENT']]].sort());
    assert.ok((await b.sm.send(new DescribeSecretCommand({ SecretId: arn }))).LastRotatedDate);
    const current = await readSecret(b.sm, arn);
    const previous = await readSecret(b.sm, arn, { stage: 'AWSPREVIOUS' });
    assert.equal(previous.password, initial.password);
    assert.notEqual(current.password, initial.password);
    await login(current);
    // No password lost: every login the database has accepts exactly the password of the labelled
    // version for that user.
    const now = await verifiers(roles);
    if (alternating) {
      assert.equal(current.username, `${name}_clone`);
      assert.deepEqual([...now.keys()].sort(), roles);
      assert.ok(accepts(now.get(current.username), current.password), 'the clone has AWSCURRENT\'s password');
      assert.ok(accepts(now.get(previous.username), previous.password), 'the base login has AWSPREVIOUS\'s password');
      await login(previous);
    } else {
      assert.ok(accepts(now.get(name), current.password), 'the database has AWSCURRENT\'s password');
      await assert.rejects(login(previous), { code: '28P01', message: `password authentication failed for user "${name}"` });
    }
    // The restarted server goes on rotating (for a kill in finishSecret, while the old job's step may
    // still be re-run: it must not move AWSCURRENT back).
    const r2 = await b.sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn(strategy) }));
    await until('the next rotation', async () => (await b!.sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages?.[r2.VersionId!]?.includes('AWSCURRENT'));
    const next = await readSecret(b.sm, arn);
    await login(next);
    assert.ok(accepts((await verifiers([next.username])).get(next.username), next.password));
  } finally {
    if (a && a.proc.exitCode === null && a.proc.signalCode === null) a.proc.kill('SIGKILL');
    await stopNode(b);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(markerDir, { recursive: true, force: true });
  }
}

for (const strategy of ['postgresql-single-user', 'postgresql-alternating-users'] as const) {
  for (const point of KILL_POINTS) {
    test(`${strategy}: SIGKILL inside ${point}; after a restart the rotation finishes and no password is lost`, { timeout: 120_000 }, () => killInside(strategy, point));
  }
}
