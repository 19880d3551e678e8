import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { checkUrl, signature, WebhookStore } from './webhooks.ts';
import { RotationRegistry, CANNOT_INVOKE } from './registry.ts';
import { MemoryBackend } from '../../storage/memory.ts';
import { barrierOver } from '../../jobs/testdata/fixtures.ts';

const openMemoryBarrier = () => barrierOver(new MemoryBackend());

test('https only; http to the loopback address only when enabled', () => {
  assert.equal(checkUrl('https://rotate.example.com/x', {}).hostname, 'rotate.example.com');
  assert.throws(() => checkUrl('http://127.0.0.1:1/x', {}), { name: 'InvalidParameterException' });
  assert.equal(checkUrl('http://127.0.0.1:1/x', { allowHttpLoopback: true }).port, '1');
  assert.throws(() => checkUrl('http://10.0.0.1/x', { allowHttpLoopback: true }), { name: 'InvalidParameterException' });
  assert.throws(() => checkUrl('ftp://x', {}), { name: 'InvalidParameterException' });
  assert.throws(() => checkUrl('not a url', {}), { name: 'InvalidParameterException', message: 'The webhook url is not a valid URL.' });
});

test('signature: HMAC-SHA256 over "<timestamp>.<body>" (a fixed vector)', () => {
  // python3 -c 'import hmac,hashlib;print(hmac.new(b"k",b"1700000000.{}",hashlib.sha256).hexdigest())'
  assert.equal(signature('k', '1700000000', '{}'), 'v1=c6ef4734033cee2367414a0939385eca0397754aa7a59716da7463a9298b5146');
  assert.notEqual(signature('k', '1700000000', '{}'), signature('k', '1700000001', '{}'));
  assert.match(signature('k', '1', 'x'), /^v1=[0-9a-f]{64}$/);
});

test('registry: built-in names, webhooks, and AWS\'s error for anything else', async () => {
  const barrier = await openMemoryBarrier();
  const hooks = new WebhookStore(barrier, {});
  await hooks.add('mine', 'https://example.com/r');
  const reg = new RotationRegistry([{ name: 'x-single', needsMaster: false, invalidatesCurrent: false, createPending: (c) => c, setSecret: async () => {}, testSecret: async () => {} }], hooks, { region: 'us-east-1', accountId: '111122223333' });
  const arn = (fn: string, region = 'us-east-1', acct = '111122223333') => `arn:aws:lambda:${region}:${acct}:function:${fn}`;
  assert.equal((await reg.resolve(arn('rekey-x-single'))).kind, 'strategy');
  assert.equal((await reg.resolve(arn('mine'))).kind, 'webhook');
  for (const bad of [arn('x-single'), arn('nope'), arn('mine', 'eu-west-1'), arn('mine', 'us-east-1', '999999999999'), 'not-an-arn']) {
    await assert.rejects(reg.resolve(bad), { name: 'AccessDeniedException', message: CANNOT_INVOKE });
  }
  await assert.rejects(hooks.add('mine', 'https://example.com/r'), { name: 'ResourceExistsException' });
  assert.deepEqual((await hooks.list()).map((w) => w.name), ['mine']);
  assert.ok(!JSON.stringify(await hooks.list()).includes('signingSecret'));
});

test('invoke: signed POST of the Lambda event; non-2xx fails the step', async () => {
  const barrier = await openMemoryBarrier();
  const hooks = new WebhookStore(barrier, { allowHttpLoopback: true, timeoutMs: 5000 });
  let status = 200;
  const got: { body: string; sig: string; ts: string }[] = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ body, sig: String(req.headers['x-rekey-signature']), ts: String(req.headers['x-rekey-timestamp']) });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const port = (srv.address() as { port: number }).port;
    const w = await hooks.add('h', `http://127.0.0.1:${port}/`);
    const ev = { Step: 'setSecret', SecretId: 'arn:s', ClientRequestToken: 't'.repeat(36) };
    await hooks.invoke(w, ev, new AbortController().signal);
    assert.deepEqual(JSON.parse(got[0]!.body), ev);
    assert.equal(got[0]!.sig, signature(w.signingSecret, got[0]!.ts, got[0]!.body));
    status = 503;
    await assert.rejects(hooks.invoke(w, ev, new AbortController().signal), { name: 'WebhookFailed', message: 'rotation webhook h answered setSecret with HTTP 503' });
  } finally {
    srv.close();
  }
});
