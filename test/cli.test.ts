// The `rekey` command as a user runs it: --version, --help, `server` (banner, dev credentials,
// clean shutdown on SIGTERM and SIGINT), configuration errors, and `operator rotate-root`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as K from '@aws-sdk/client-kms';
import { randomBytes } from '../src/crypto/index.ts';

const BIN = join(process.cwd(), 'bin', 'rekey.mjs');
const CREDS = { accessKeyId: 'AKIACLITEST000000001', secretAccessKey: 'cli-test-secret-cli-test-secret-0001' };
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
}

interface Proc { url: string; out: () => string; stop(signal: NodeJS.Signals): Promise<number | null> }

function startServer(dataDir: string, env: Record<string, string> = {}): Promise<Proc> {
  const child = spawn(process.execPath, [BIN, 'server', '--port', '0', '--data-dir', dataDir], { env: { ...process.env, REKEY_LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out} ${err}`)), 30_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${out} ${err}`)); });
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m && out.endsWith('\n\n')) { // the banner is complete
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({
          url: m[1]!, out: () => out + err,
          stop: (signal) => new Promise((res) => { child.once('exit', (code) => res(code)); child.kill(signal); }),
        });
      }
    });
  });
}

test('--version and --help', () => {
  const v = run(['--version']);
  assert.equal(v.status, 0);
  assert.equal(v.stdout.trim(), VERSION);
  const h = run(['--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /server/);
  assert.match(h.stdout, /operator/);
  const sh = run(['server', '--help']);
  assert.match(sh.stdout, /--port/);
  assert.match(sh.stdout, /--data-dir/);
  assert.match(sh.stdout, /--host/);
});

test('invalid configuration is refused at start with a clear message', () => {
  const r = run(['server', '--port', 'abc'], { REKEY_DATA_DIR: mkdtempSync(join(tmpdir(), 'rekey-cli-')) });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /ConfigurationError: --port must be a non-negative integer/);
  const r2 = run(['server'], { REKEY_REGION: 'mars', REKEY_DATA_DIR: mkdtempSync(join(tmpdir(), 'rekey-cli-')) });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /invalid configuration: \/region/);
});

test('server prints endpoint, region, account, dev credentials and an aws line; SIGTERM and SIGINT stop it cleanly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-cli-'));
  try {
    const env = { REKEY_DEV_ACCESS_KEY_ID: CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: CREDS.secretAccessKey };
    let p = await startServer(dir, env);
    const out = p.out();
    assert.match(out, /region:\s+us-east-1/);
    assert.match(out, /account id:\s+111122223333/);
    assert.match(out, /WARNING: DEV MODE/);
    assert.ok(out.indexOf('WARNING: DEV MODE') < out.indexOf('listening on'), 'the dev-mode warning comes first');
    const frame = out.split('\n').filter((l) => /^ {2}\*/.test(l));
    assert.equal(frame.length, 6);
    assert.equal(new Set(frame.map((l) => l.length)).size, 1, `the box is aligned:\n${frame.join('\n')}`);
    assert.ok(out.includes('export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1'), 'AWS CLI v1 reads AWS_DEFAULT_REGION');
    assert.ok(out.includes(`export AWS_ACCESS_KEY_ID=${CREDS.accessKeyId}`));
    assert.ok(out.includes(`export AWS_SECRET_ACCESS_KEY=${CREDS.secretAccessKey}`));
    assert.ok(out.includes(`aws kms create-key --description "my first key" --endpoint-url ${p.url}`));
    const kms = new K.KMSClient({ endpoint: p.url, region: 'us-east-1', credentials: CREDS });
    const key = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
    assert.equal(await p.stop('SIGTERM'), 0);
    assert.match(p.out(), /SIGTERM received, shutting down/);

    p = await startServer(dir, env);
    const kms2 = new K.KMSClient({ endpoint: p.url, region: 'us-east-1', credentials: CREDS });
    assert.equal((await kms2.send(new K.DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyId, key.KeyId);
    assert.equal(await p.stop('SIGINT'), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without fixed credentials the first start generates them and later starts reuse them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-cli-'));
  try {
    let p = await startServer(dir);
    const id1 = /AWS_ACCESS_KEY_ID=(\S+)/.exec(p.out())![1];
    assert.match(id1!, /^AKIA[A-Z2-7]{16}$/);
    await p.stop('SIGTERM');
    p = await startServer(dir);
    assert.equal(/AWS_ACCESS_KEY_ID=(\S+)/.exec(p.out())![1], id1);
    await p.stop('SIGTERM');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('operator rotate-root rewraps the keyring: old ciphertexts decrypt under the new root, the old root no longer opens the store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rekey-cli-'));
  try {
    const rootA = randomBytes(32).toString('hex');
    const rootB = randomBytes(32).toString('base64');
    const env = { REKEY_DEV_ACCESS_KEY_ID: CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: CREDS.secretAccessKey, REKEY_ROOT_KEY: rootA, REKEY_INSECURE_HTTP: '1' };
    let p = await startServer(dir, env);
    assert.doesNotMatch(p.out(), /DEV MODE/);
    const kms = new K.KMSClient({ endpoint: p.url, region: 'us-east-1', credentials: CREDS });
    const key = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!;
    const blob = (await kms.send(new K.EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('survives') }))).CiphertextBlob!;
    await p.stop('SIGTERM');

    const r = run(['operator', 'rotate-root', '--data-dir', dir, '--new-key-env', 'NEW_ROOT'], { REKEY_ROOT_KEY: rootA, NEW_ROOT: rootB });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /root key rotated/);
    assert.ok(!r.stdout.includes(rootA) && !r.stderr.includes(rootA) && !r.stdout.includes(rootB));

    const old = run(['server', '--port', '0', '--data-dir', dir], { ...env });
    assert.equal(old.status, 2);
    assert.match(old.stderr, /SealedException/);

    p = await startServer(dir, { ...env, REKEY_ROOT_KEY: rootB });
    const kms2 = new K.KMSClient({ endpoint: p.url, region: 'us-east-1', credentials: CREDS });
    const d = await kms2.send(new K.DecryptCommand({ CiphertextBlob: blob }));
    assert.equal(Buffer.from(d.Plaintext!).toString(), 'survives');
    await p.stop('SIGTERM');
    assert.ok(!existsSync(join(dir, 'dev-root.key')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Issue 17, item 11: `rekey audit verify --file X` without REKEY_DATA_DIR created ./data with a new
// dev root key and then failed misleadingly. Store-reading commands never create a store; they take --data-dir.
test('audit verify / lookup / public-key never create a data directory or a dev root key; --data-dir names the store', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'rekey-cli-cwd-'));
  const dir = mkdtempSync(join(tmpdir(), 'rekey-cli-'));
  try {
    const { REKEY_DATA_DIR: _d, REKEY_CONFIG: _c, ...env } = process.env;
    const inCwd = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd, env: env as Record<string, string>, encoding: 'utf8', timeout: 60_000 });
    for (const args of [['audit', 'verify', '--file', join(cwd, 'audit.jsonl')], ['audit', 'verify'], ['audit', 'lookup'], ['audit', 'public-key']]) {
      const r = inCwd(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stderr.trim(), `rekey: ConfigurationError: no rekey store in ${join(cwd, 'data')}: ${join(cwd, 'data', 'rekey.db')} does not exist (name the data directory with --data-dir or REKEY_DATA_DIR)`);
      assert.equal(existsSync(join(cwd, 'data')), false, `${args.join(' ')} created ./data`);
    }
    const p = await startServer(dir, { REKEY_DEV_ACCESS_KEY_ID: CREDS.accessKeyId, REKEY_DEV_SECRET_ACCESS_KEY: CREDS.secretAccessKey });
    const kms = new K.KMSClient({ endpoint: p.url, region: 'us-east-1', credentials: CREDS });
    await kms.send(new K.CreateKeyCommand({}));
    await p.stop('SIGTERM');
    const ok = inCwd(['audit', 'verify', '--data-dir', dir]);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /audit verify: OK\n$/);
    const file = inCwd(['audit', 'verify', '--data-dir', dir, '--file', join(dir, 'audit', 'audit.jsonl')]);
    assert.equal(file.status, 0, file.stdout + file.stderr);
    assert.equal(existsSync(join(cwd, 'data')), false);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
