// Issue 17 through the real server: a captured signature replayed under another X-Amz-Target
// (item 3), and SecretIds of every character class and length from fast-check (item 9): never a
// 5xx, nothing changed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as K from '@aws-sdk/client-kms';
import * as S from '@aws-sdk/client-secrets-manager';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { signRequest } from '../src/iam/sigv4-sign.ts';

let s: TestServer;
before(async () => { s = await startTestServer(); });
after(async () => { await s.cleanup(); });

/** Signs `body` as the client would WITHOUT X-Amz-Target in SignedHeaders, then sends it under `target`. */
async function replay(service: string, body: string, target: string): Promise<{ status: number; json: { __type?: string; message?: string } }> {
  const u = new URL(s.url);
  const headers = signRequest({ method: 'POST', host: u.host, path: '/', headers: { 'content-type': 'application/x-amz-json-1.1' }, body }, TEST_CREDS, { region: 'us-east-1', service });
  delete headers['host'];
  const res = await fetch(s.url + '/', { method: 'POST', headers: { ...headers, 'x-amz-target': target }, body });
  return { status: res.status, json: await res.json() as { __type?: string; message?: string } };
}

test('a signature that does not cover X-Amz-Target is refused: an Encrypt body does not replay as DisableKey, nor GetSecretValue as DeleteSecret', async () => {
  const kms = s.kmsClient();
  const keyId = (await kms.send(new K.CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const r = await replay('kms', JSON.stringify({ KeyId: keyId, Plaintext: 'AAAA' }), 'TrentService.DisableKey');
  assert.equal(r.status, 400);
  assert.deepEqual(r.json, { __type: 'InvalidSignatureException', message: "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization." });
  assert.equal((await kms.send(new K.DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState, 'Enabled');
  // the refusal is on the trail
  const refused = (await s.audit.lookup({ eventName: 'DisableKey' })).events.map((e) => e.event as { errorCode?: string });
  assert.deepEqual(refused.map((e) => e.errorCode), ['InvalidSignatureException']);

  const sm = s.secretsClient();
  await sm.send(new S.CreateSecretCommand({ Name: 'replay/target', SecretString: 'v' }));
  const d = await replay('secretsmanager', JSON.stringify({ SecretId: 'replay/target' }), 'secretsmanager.DeleteSecret');
  assert.equal(d.status, 400);
  assert.equal(d.json.__type, 'InvalidSignatureException');
  assert.equal((await sm.send(new S.DescribeSecretCommand({ SecretId: 'replay/target' }))).DeletedDate, undefined);
});

test('property: any SecretId (any characters, 1-2100 long) on secret-id operations is a typed 4xx, never a 5xx', async () => {
  const sm = s.secretsClient();
  const id = fc.oneof(
    fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }),
    fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
    fc.integer({ min: 500, max: 2100 }).map((n) => 'x'.repeat(n)),
    fc.constantFrom('a\u0000b', 'a\tb', 'a\u007fb', 'arn:aws:secretsmanager:us-east-1:111122223333:secret:\u00e9-AbCdEf'),
  );
  const op = fc.constantFrom('get', 'describe', 'put', 'delete', 'tag');
  await fc.assert(fc.asyncProperty(id, op, async (secretId, which) => {
    const cmd = which === 'get' ? new S.GetSecretValueCommand({ SecretId: secretId })
      : which === 'describe' ? new S.DescribeSecretCommand({ SecretId: secretId })
      : which === 'put' ? new S.PutSecretValueCommand({ SecretId: secretId, SecretString: 'x' })
      : which === 'delete' ? new S.DeleteSecretCommand({ SecretId: secretId, ForceDeleteWithoutRecovery: true })
      : new S.TagResourceCommand({ SecretId: secretId, Tags: [{ Key: 'k', Value: 'v' }] });
    const e = await sm.send(cmd as never).then(() => null, (x: { name: string; $metadata?: { httpStatusCode?: number } }) => x);
    // ForceDeleteWithoutRecovery of a name no secret has succeeds, as in AWS (test/secrets-fidelity.test.ts)
    if (e === null && which === 'delete' && secretId.length <= 512 && /^[A-Za-z0-9/_+=.@!-]+$/.test(secretId)) return;
    assert.ok(e, `${which} ${JSON.stringify(secretId.slice(0, 30))} succeeded`);
    const status = e.$metadata?.httpStatusCode ?? 0;
    assert.ok(status >= 400 && status < 500, `${which} ${JSON.stringify(secretId.slice(0, 30))}: ${status} ${e.name}`);
    assert.ok(['ResourceNotFoundException', 'ValidationException'].includes(e.name), `${which}: ${e.name}`);
  }), { numRuns: 300 });
});
