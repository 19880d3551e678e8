// The README's first session, run with the real AWS CLI where it is installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';

const hasCli = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;
let s: TestServer;
before(async () => { if (hasCli) s = await startTestServer(); });
after(async () => { if (hasCli) await s.cleanup(); });

// async: the server runs in this process, so a synchronous spawn would block it
function aws(args: string[]): Promise<{ status: number | null; out: string; err: string }> {
  const child = spawn('aws', ['kms', ...args, '--endpoint-url', s.url, '--output', 'text'], {
    timeout: 60_000,
    env: { ...process.env, AWS_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey, AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_PAGER: '' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, out: out.trim(), err: err.trim() })));
}

test('AWS CLI: create-key, alias, encrypt, decrypt, rotate, list-key-rotations, errors', { skip: hasCli ? false : 'aws CLI not installed' }, async () => {
  const key = await aws(['create-key', '--description', 'my first key', '--query', 'KeyMetadata.KeyId']);
  assert.equal(key.status, 0, key.err);
  assert.match(key.out, /^[0-9a-f-]{36}$/);
  assert.equal((await aws(['create-alias', '--alias-name', 'alias/app', '--target-key-id', key.out])).status, 0);
  // fileb:// works the same on CLI v1 and v2 (v1 does not base64-decode blob arguments)
  const dir = mkdtempSync(join(tmpdir(), 'rekey-cli-'));
  writeFileSync(join(dir, 'pt'), 'hello');
  const ct = await aws(['encrypt', '--key-id', 'alias/app', '--plaintext', `fileb://${join(dir, 'pt')}`, '--query', 'CiphertextBlob']);
  assert.equal(ct.status, 0, ct.err);
  writeFileSync(join(dir, 'ct'), Buffer.from(ct.out, 'base64'));
  const pt = await aws(['decrypt', '--ciphertext-blob', `fileb://${join(dir, 'ct')}`, '--query', 'Plaintext']);
  assert.equal(pt.status, 0, pt.err);
  assert.equal(Buffer.from(pt.out, 'base64').toString(), 'hello');
  assert.equal((await aws(['rotate-key-on-demand', '--key-id', key.out])).status, 0);
  const rot = await aws(['list-key-rotations', '--key-id', key.out, '--query', 'Rotations[0].RotationType']);
  assert.equal(rot.out, 'ON_DEMAND');
  const again = await aws(['decrypt', '--ciphertext-blob', `fileb://${join(dir, 'ct')}`, '--query', 'Plaintext']);
  assert.equal(Buffer.from(again.out, 'base64').toString(), 'hello');
  const missing = await aws(['describe-key', '--key-id', '00000000-0000-0000-0000-000000000000']);
  assert.notEqual(missing.status, 0);
  assert.match(missing.err, /NotFoundException/);
});
