// The AWS CLI over HTTPS against a rekey-generated CA, trusting it with --ca-bundle.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';

const hasCli = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;
let s: TestServer;
before(async () => { if (hasCli) s = await startTestServer({ env: { REKEY_TLS: 'generated' } }); });
after(async () => { if (hasCli) await s.cleanup(); });

function aws(args: string[]): Promise<{ status: number | null; out: string; err: string }> {
  // the environment's own AWS_CA_BUNDLE (if any) stays: it is the system bundle, which does not know rekey's CA
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: TEST_CREDS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDS.secretAccessKey, AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_PAGER: '' };
  const child = spawn('aws', ['kms', ...args, '--endpoint-url', s.url, '--output', 'text'], { timeout: 60_000, env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, out: out.trim(), err: err.trim() })));
}

test('AWS CLI over HTTPS with --ca-bundle <dataDir>/tls/ca.pem; without it the certificate is refused', { skip: hasCli ? false : 'aws CLI not installed' }, async () => {
  assert.match(s.url, /^https:/);
  const key = await aws(['create-key', '--description', 'tls', '--query', 'KeyMetadata.KeyId', '--ca-bundle', s.caBundlePath!]);
  assert.equal(key.status, 0, key.err);
  assert.match(key.out, /^[0-9a-f-]{36}$/);
  const d = await aws(['describe-key', '--key-id', key.out, '--query', 'KeyMetadata.Description', '--ca-bundle', s.caBundlePath!]);
  assert.equal(d.out, 'tls');
  // a rotation in between: the CLI's next connection gets the new certificate from the same CA
  await s.certs!.rotate('manual');
  const again = await aws(['describe-key', '--key-id', key.out, '--query', 'KeyMetadata.KeyState', '--ca-bundle', s.caBundlePath!]);
  assert.equal(again.out, 'Enabled', again.err);
  const untrusted = await aws(['describe-key', '--key-id', key.out, '--cli-read-timeout', '10', '--cli-connect-timeout', '10']);
  assert.notEqual(untrusted.status, 0);
  assert.match(untrusted.err, /SSL|certificate verify failed/i);
});
