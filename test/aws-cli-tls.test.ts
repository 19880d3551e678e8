// The AWS CLI over HTTPS against a rekey-generated CA, trusting it with --ca-bundle.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { awsCli, awsCliSkipReason } from './helpers/aws-cli.ts';

const skip = awsCliSkipReason();
let s: TestServer;
before(async () => { if (!skip) s = await startTestServer({ env: { REKEY_TLS: 'generated' } }); });
after(async () => { if (!skip) await s.cleanup(); });

const aws = (args: string[]) => awsCli('kms', s.url, args);

test('AWS CLI over HTTPS with --ca-bundle <dataDir>/tls/ca.pem; without it the certificate is refused', { skip }, async () => {
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
