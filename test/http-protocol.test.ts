// The AWS JSON 1.1 edge: malformed input of every kind gets an AWS-shaped error and never
// crashes the server; requests without a valid SigV4 signature from a known key are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { TEST_CREDS } from './helpers/server.ts';

let s: TestServer;
before(async () => { s = await startTestServer(); });
after(async () => { await s.cleanup(); });

async function alive(): Promise<void> {
  const r = await s.raw('TrentService.ListKeys', '{}');
  assert.equal(r.status, 200, r.text);
}

test('malformed JSON -> SerializationException (400)', async () => {
  for (const body of ['{', '{"KeyId": }', 'not json', '[]', '"str"', '123', 'null', '{"a":1}}']) {
    const r = await s.raw('TrentService.DescribeKey', body);
    assert.equal(r.status, 400, body);
    assert.equal(r.json.__type, 'SerializationException', body);
    assert.equal(r.headers.get('x-amzn-errortype'), 'SerializationException');
    assert.ok(r.headers.get('x-amzn-requestid'));
  }
  await alive();
});

test('prototype-polluting keys are refused', async () => {
  const r = await s.raw('TrentService.CreateKey', '{"__proto__": {"polluted": true}}');
  assert.equal(r.json.__type, 'SerializationException');
  assert.equal(({} as any).polluted, undefined);
  await alive();
});

test('unknown or missing X-Amz-Target -> UnknownOperationException', async () => {
  for (const t of ['TrentService.Nope', 'Nope.Encrypt', 'TrentService.', 'garbage', undefined]) {
    const r = await s.raw(t, '{}');
    assert.equal(r.status, 400, String(t));
    assert.equal(r.json.__type, 'UnknownOperationException', String(t));
  }
  await alive();
});

test('wrong JSON types -> SerializationException; constraint violations -> ValidationException', async () => {
  let r = await s.raw('TrentService.ListKeys', '{"Limit": "ten"}');
  assert.equal(r.json.__type, 'SerializationException');
  r = await s.raw('TrentService.CreateKey', '{"Description": 42}');
  assert.equal(r.json.__type, 'SerializationException');
  r = await s.raw('TrentService.GenerateRandom', '{"NumberOfBytes": 5000}');
  assert.equal(r.json.__type, 'ValidationException');
  assert.match(r.json.message, /^1 validation error detected: Value '5000' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024$/);
  await alive();
});

test('oversized body -> RequestEntityTooLargeException (413), server keeps serving', async () => {
  const big = JSON.stringify({ Description: 'x'.repeat(600_000) });
  const r = await s.raw('TrentService.CreateKey', big);
  assert.equal(r.status, 413);
  assert.equal(r.json.__type, 'RequestEntityTooLargeException');
  await alive();
});

test('authentication: missing, unknown key, bad signature, wrong region, stale date', async () => {
  let r = await s.raw('TrentService.ListKeys', '{}', { sign: false });
  assert.equal(r.status, 403);
  assert.equal(r.json.__type, 'MissingAuthenticationTokenException');

  r = await s.raw('TrentService.ListKeys', '{}', { creds: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: TEST_CREDS.secretAccessKey } });
  assert.equal(r.json.__type, 'UnrecognizedClientException');
  assert.equal(r.json.message, 'The security token included in the request is invalid.');

  r = await s.raw('TrentService.ListKeys', '{}', { creds: { accessKeyId: TEST_CREDS.accessKeyId, secretAccessKey: 'wrong-secret-wrong-secret-wrong' } });
  assert.equal(r.json.__type, 'InvalidSignatureException');
  assert.match(r.json.message, /^The request signature we calculated does not match the signature you provided/);

  r = await s.raw('TrentService.ListKeys', '{}', { sign: false, headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x' } });
  assert.equal(r.json.__type, 'IncompleteSignatureException');

  // body changed after signing
  const c = s.kmsClient();
  c.middlewareStack.add((next) => async (args: any) => {
    args.request.body = '{"Limit":9}';
    return next(args);
  }, { step: 'finalizeRequest', priority: 'low' });
  const { ListKeysCommand } = await import('@aws-sdk/client-kms');
  await assert.rejects(c.send(new ListKeysCommand({ Limit: 5 })), (e: any) => e.name === 'InvalidSignatureException');

  const stale = s.kmsClient();
  stale.config.systemClockOffset = -10 * 60_000;
  await assert.rejects(stale.send(new ListKeysCommand({})), (e: any) => e.name === 'InvalidSignatureException' && /Signature expired/.test(e.message));
  await alive();
});

test('a broken HTTP request on a raw socket does not crash the server', async () => {
  await new Promise<void>((resolve) => {
    const sock = connect(s.port, '127.0.0.1', () => {
      sock.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n{');
      sock.end('\x00\x01\x02garbage\r\n\r\n');
    });
    sock.on('data', () => {});
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
  });
  await alive();
});

test('admin API: /v1/health and /v1/openapi.json', async () => {
  const h = await fetch(s.url + '/v1/health');
  assert.equal(h.status, 200);
  assert.equal((await h.json() as any).status, 'ok');
  const o = await fetch(s.url + '/v1/openapi.json');
  const doc = await o.json() as any;
  assert.equal(doc.openapi, '3.0.3');
  assert.ok(doc.paths['/v1/health']);
});
