import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { RekeyError } from '../errors.ts';
import { validateTargets } from '../proxy/config.ts';
import type { SecretSource } from '../proxy/ports.ts';
import { ProxyService } from '../proxy/service.ts';
import { type ProxyAdminCall, registerProxyAdmin } from './admin-proxy.ts';

const secrets: SecretSource = {
  current: async () => ({ versionId: 'v1', username: 'app', password: 'unused-in-these-tests' }),
  previous: async () => undefined,
  onRotated: () => () => {},
};
let proxy: ProxyService;
let app: FastifyInstance;
const calls: ProxyAdminCall[] = [];

before(async () => {
  proxy = new ProxyService({ secrets, targets: validateTargets([{ name: 'app', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: 5432 }, secretIds: ['s'] }]) });
  await proxy.start();
  app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err, req, reply) => {
    const rk = err instanceof RekeyError ? err : null;
    return reply.code(rk?.status ?? 500).send({ error: rk?.code ?? 'InternalFailure', message: rk?.message ?? 'internal', requestId: req.id });
  });
  registerProxyAdmin(app, proxy, { onCall: (c) => void calls.push(c) });
  await app.ready();
});

after(async () => {
  await app?.close();
  await proxy?.close();
});

const post = (url: string, body?: object) => app.inject({ method: 'POST', url, payload: body ? JSON.stringify(body) : '', headers: { 'content-type': 'application/json' } });

test('GET /v1/proxy/targets: status and pool metrics', async () => {
  const r = await app.inject({ method: 'GET', url: '/v1/proxy/targets' });
  assert.equal(r.statusCode, 200);
  const t = (r.json() as { targets: { name: string; paused: boolean; upstream: object; mode: string }[] }).targets[0]!;
  assert.equal(t.name, 'app');
  assert.equal(t.paused, false);
  assert.equal(t.mode, 'session');
  assert.deepEqual(t.upstream, { host: '127.0.0.1', port: 5432 });
});

test('pause, switch, resume; each call recorded for the audit trail', async () => {
  calls.length = 0;
  let r = await post('/v1/proxy/targets/app/pause', { timeoutMs: 1000 });
  assert.equal(r.statusCode, 200);
  assert.equal((r.json() as { target: { paused: boolean } }).target.paused, true);
  r = await post('/v1/proxy/targets/app/switch', { host: '127.0.0.1', port: 6543 });
  assert.equal(r.statusCode, 200);
  assert.deepEqual((r.json() as { target: { upstream: object; generation: number } }).target.upstream, { host: '127.0.0.1', port: 6543 });
  r = await post('/v1/proxy/targets/app/resume');
  assert.equal((r.json() as { target: { paused: boolean; generation: number } }).target.paused, false);
  assert.deepEqual(calls.map((c) => [c.action, c.resource, c.error?.name]), [
    ['rekey:PauseProxy', 'arn:aws:rekey:::proxy/app', undefined],
    ['rekey:SwitchProxy', 'arn:aws:rekey:::proxy/app', undefined],
    ['rekey:ResumeProxy', 'arn:aws:rekey:::proxy/app', undefined],
  ]);
  assert.deepEqual(calls[1]!.parameters, { name: 'app', host: '127.0.0.1', port: 6543 });
});

test('errors are typed: unknown target, switch without pause, bad input', async () => {
  const cases: [string, object | undefined, number, string, string][] = [
    ['/v1/proxy/targets/nope/pause', undefined, 400, 'NotFoundException', 'proxy target nope does not exist'],
    ['/v1/proxy/targets/app/switch', { host: '127.0.0.1', port: 1 }, 400, 'ValidationException', 'switch needs a paused target (pause first)'],
    ['/v1/proxy/targets/app/pause', { timeoutMs: -1 }, 400, 'ValidationException', 'timeoutMs must be an integer in [1, 3600000]'],
    ['/v1/proxy/targets/app/switch', { host: '', port: 1 }, 400, 'ValidationException', 'endpoint must be {host, port} with port in [1, 65535]'],
  ];
  for (const [url, body, status, error, message] of cases) {
    const r = await post(url, body);
    assert.equal(r.statusCode, status, url);
    assert.deepEqual([r.json().error, r.json().message], [error, message]);
  }
  const bad = await post('/v1/proxy/targets/bad%20name/resume');
  assert.equal(bad.json().error, 'ValidationException');
  const notJson = await app.inject({ method: 'POST', url: '/v1/proxy/targets/app/pause', payload: '{', headers: { 'content-type': 'application/json' } });
  assert.equal(notJson.json().error, 'SerializationException');
});
