// The README's first session, run with the real AWS CLI where it is installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { awsCli, awsCliSkipReason, requireAwsCli } from './helpers/aws-cli.ts';

const skip = awsCliSkipReason();
let s: TestServer;
before(async () => { if (!skip) s = await startTestServer(); });
after(async () => { if (!skip) await s.cleanup(); });

const aws = (args: string[]) => awsCli('kms', s.url, args);

test('AWS CLI: create-key, alias, encrypt, decrypt, rotate, list-key-rotations, errors', { skip }, async () => {
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

test('the AWS CLI tests skip only off CI: with CI=true a missing CLI fails them, saying what to do', () => {
  assert.equal(awsCliSkipReason({}, false), 'the AWS CLI is not installed');
  assert.equal(awsCliSkipReason({ CI: 'true' }, false), false);
  assert.equal(awsCliSkipReason({}, true), false);
  assert.throws(() => requireAwsCli(false), { name: 'Error', message: 'the AWS CLI is not installed: CI=true does not skip it (.ci/run installs the Debian package awscli)' });
  assert.doesNotThrow(() => requireAwsCli(true));
});
