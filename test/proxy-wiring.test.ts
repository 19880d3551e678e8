// The proxy inside `rekey server`, the parts test/proxy-e2e.test.ts does not cover: the proxy's
// certificate is re-issued from rekey's CA when the API certificate rotates (new handshakes get it,
// open connections keep theirs); auth password+iam (TLS: cleartext password or IAM token;
// plaintext: SCRAM); AWSPREVIOUS accepted during previousPasswordGraceMs after a real rotation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import pg from 'pg';
import { Signer } from '@aws-sdk/rds-signer';
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, RotateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startPostgres, type StartedPostgres } from './helpers/pg.ts';
import { createRole, run } from './helpers/proxy.ts';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { Command } from 'commander';
import { registerProxyCommands } from '../src/cli/proxy-command.ts';

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const SECRET = `wiring/app-${Date.now()}`;
let db: StartedPostgres;
let s: TestServer;
let sm: SecretsManagerClient;
let dir: string;
let first: string;

const port = (name: string) => s.proxy!.address(name).port;
const client = (target: string, password: string, ssl: boolean) =>
  new pg.Client({ host: 'localhost', port: port(target), user: 'app', password, database: db.database, ...(ssl ? { ssl: { ca: s.ca! } } : {}) });

async function whoami(target: string, password: string, ssl: boolean): Promise<string> {
  const c = client(target, password, ssl);
  try {
    await c.connect();
    return (await c.query('SELECT current_user AS u')).rows[0].u as string;
  } finally {
    await c.end().catch(() => {});
  }
}

before(async () => {
  db = await startPostgres();
  first = await createRole(db, 'app');
  dir = mkdtempSync(join(tmpdir(), 'rekey-proxy-wiring-'));
  const common = { listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: db.port }, secretIds: [SECRET] };
  writeFileSync(join(dir, 'rekey.json'), JSON.stringify({
    proxy: { targets: [
      { name: 'mixed', ...common, auth: 'password+iam', iamHosts: ['localhost'], resourceId: 'db-WIRING' },
      { name: 'nograce', ...common, previousPasswordGraceMs: 0 },
    ] },
  }));
  s = await startTestServer({ env: { REKEY_CONFIG: join(dir, 'rekey.json'), REKEY_TLS: 'generated', REKEY_AUDIT_STDOUT: 'false' } });
  sm = s.secretsClient();
  await sm.send(new CreateSecretCommand({ Name: SECRET, SecretString: JSON.stringify({ engine: 'postgres', host: '127.0.0.1', port: db.port, username: 'app', password: first, dbname: db.database }) }));
});

after(async () => {
  await s?.cleanup();
  await db?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the proxy certificate comes from rekey\'s CA and is re-issued when the API certificate rotates; open connections keep theirs', async () => {
  const open = client('mixed', first, true);
  await open.connect();
  try {
    const peer = () => (open as unknown as { connection: { stream: TLSSocket } }).connection.stream.getPeerCertificate();
    const before = peer();
    assert.match(before.subjectaltname ?? '', /DNS:localhost/);
    assert.equal(before.subject.CN, 'rekey-proxy');
    await s.certs!.rotate();
    let after = before;
    const deadline = Date.now() + 10_000;
    while (after.serialNumber === before.serialNumber) {
      assert.ok(Date.now() < deadline, 'the proxy kept its certificate after the API certificate rotated');
      const c = client('mixed', first, true);
      await c.connect();
      after = (c as unknown as { connection: { stream: TLSSocket } }).connection.stream.getPeerCertificate();
      await c.end();
    }
    assert.notEqual(after.serialNumber, before.serialNumber);
    assert.equal((await open.query('SELECT 7 AS n')).rows[0].n, 7);
    assert.equal(peer().serialNumber, before.serialNumber);
  } finally {
    await open.end();
  }
});

test('auth password+iam: TLS clients send the password or an IAM token in clear (inside TLS); plaintext clients use SCRAM', async () => {
  assert.equal(await whoami('mixed', first, true), 'app');
  assert.equal(await whoami('mixed', first, false), 'app');
  await assert.rejects(whoami('mixed', 'wrong', true), (e: Error & { code?: string }) => e.code === '28P01' && e.message === 'password authentication failed for user "app"');
  const user = await s.iam.principals.createUser(`carol-${Date.now()}`);
  await s.iam.principals.putPolicy('user', user.name, 'db', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'rds-db:connect', Resource: `arn:aws:rds-db:${REGION}:${ACCOUNT}:dbuser:db-WIRING/*` }] }));
  const key = await s.iam.accessKeys.create(user);
  const token = await new Signer({ hostname: 'localhost', port: port('mixed'), username: 'app', region: REGION, credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } }).getAuthToken();
  assert.equal(await whoami('mixed', token, true), 'app');
  // over plaintext the proxy asks for SCRAM: a token is just a wrong password there
  await assert.rejects(whoami('mixed', token, false), /password authentication failed for user "app"/);
});

test('after a real rotation: the new password works at once, AWSPREVIOUS during the grace period only', async () => {
  const r = await sm.send(new RotateSecretCommand({ SecretId: SECRET, RotationLambdaARN: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:rekey-postgresql-single-user` }));
  const deadline = Date.now() + 30_000;
  while (!(await sm.send(new DescribeSecretCommand({ SecretId: SECRET }))).VersionIdsToStages?.[r.VersionId!]?.includes('AWSCURRENT')) {
    assert.ok(Date.now() < deadline, 'rotation did not finish');
    await new Promise((res) => setTimeout(res, 50));
  }
  const next = (JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: SECRET }))).SecretString!) as { password: string }).password;
  assert.notEqual(next, first);
  for (const [target, ssl] of [['mixed', true], ['mixed', false], ['nograce', false]] as const) assert.equal(await whoami(target, next, ssl), 'app');
  // the database no longer takes the old password, the proxy still does (grace), and logs in upstream with the new one
  const direct = new pg.Client({ host: '127.0.0.1', port: db.port, user: 'app', password: first, database: db.database });
  await assert.rejects(direct.connect(), /password authentication failed for user "app"/);
  assert.equal(await whoami('mixed', first, true), 'app');
  assert.equal(await whoami('mixed', first, false), 'app');
  await assert.rejects(whoami('nograce', first, false), (e: Error & { code?: string }) => e.code === '28P01');
});

test('proxy.tls files: the certificate is read from files and re-read when they change (rekey itself on plain HTTP, dev mode)', async () => {
  const tdir = mkdtempSync(join(tmpdir(), 'rekey-proxy-files-'));
  const gen = (cn: string) => run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${cn}`,
    '-keyout', join(tdir, 'key.tmp'), '-out', join(tdir, 'cert.tmp')], {}).then((r) => {
    assert.equal(r.code, 0, r.stderr);
    // key first, then the certificate: the reload happens when both match
    renameSync(join(tdir, 'key.tmp'), join(tdir, 'key.pem'));
    renameSync(join(tdir, 'cert.tmp'), join(tdir, 'cert.pem'));
  });
  await gen('files-one');
  writeFileSync(join(tdir, 'rekey.json'), JSON.stringify({
    proxy: { tls: { mode: 'files', certFile: join(tdir, 'cert.pem'), keyFile: join(tdir, 'key.pem') },
      targets: [{ name: 'files', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: db.port }, secretIds: [SECRET], requireTls: true }] },
  }));
  const other = await startTestServer({ env: { REKEY_CONFIG: join(tdir, 'rekey.json'), REKEY_TLS_CHECK_INTERVAL_SECONDS: '1', REKEY_AUDIT_STDOUT: 'false' } });
  try {
    // the other server has its own store: its secret gets the password the database has now
    const password = (JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: SECRET }))).SecretString!) as { password: string }).password;
    await other.secretsClient().send(new CreateSecretCommand({ Name: SECRET, SecretString: JSON.stringify({ engine: 'postgres', host: '127.0.0.1', port: db.port, username: 'app', password, dbname: db.database }) }));
    const cn = async () => {
      const c = new pg.Client({ host: '127.0.0.1', port: other.proxy!.address('files').port, user: 'app', password, database: db.database, ssl: { rejectUnauthorized: false } });
      await c.connect();
      try {
        assert.equal((await c.query('SELECT current_user AS u')).rows[0].u, 'app');
        return (c as unknown as { connection: { stream: TLSSocket } }).connection.stream.getPeerCertificate().subject.CN;
      } finally {
        await c.end();
      }
    };
    assert.equal(await cn(), 'files-one');
    // rekey server serves /v1/proxy for its proxy: `rekey proxy status` (SigV4-signed, authorized)
    let out = '';
    const program = new Command().exitOverride();
    registerProxyCommands(program, undefined, { out: (t) => (out += t), env: { AWS_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey } });
    await program.parseAsync(['node', 'rekey', 'proxy', '--endpoint', other.url, 'status']);
    assert.match(out, new RegExp(`^files {2}session {2}127\\.0\\.0\\.1:${other.proxy!.address('files').port} -> 127\\.0\\.0\\.1:${db.port} {2}running`));
    const was = statSync(join(tdir, 'cert.pem')).mtime.getTime() / 1000;
    await gen('files-two');
    // a later mtime for certain (the check compares mtimes, and the new files may share the old second)
    for (const f of ['key.pem', 'cert.pem']) utimesSync(join(tdir, f), was + 2, was + 2);
    const deadline = Date.now() + 10_000;
    let now = await cn();
    while (now !== 'files-two') {
      assert.ok(Date.now() < deadline, 'the new certificate files were not picked up');
      await new Promise((r) => setTimeout(r, 200));
      now = await cn();
    }
  } finally {
    await other.cleanup();
    rmSync(tdir, { recursive: true, force: true });
  }
});

test('auth iam without a proxy certificate is a ConfigurationError at start-up', async () => {
  const tdir = mkdtempSync(join(tmpdir(), 'rekey-proxy-notls-'));
  try {
    writeFileSync(join(tdir, 'rekey.json'), JSON.stringify({
      proxy: { targets: [{ name: 'iam', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: db.port }, secretIds: [SECRET], auth: 'iam', iamHosts: ['localhost'] }] },
    }));
    await assert.rejects(startTestServer({ dataDir: join(tdir, 'data'), env: { REKEY_CONFIG: join(tdir, 'rekey.json') } }), {
      name: 'ConfigurationError',
      message: 'proxy target iam uses auth iam: IAM tokens are accepted over TLS only, so the proxy needs a certificate (proxy.tls.mode "generated" with tls.mode "generated", or "files")',
    });
  } finally {
    rmSync(tdir, { recursive: true, force: true });
  }
});
