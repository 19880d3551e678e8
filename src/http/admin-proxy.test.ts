import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { REGION, testIam } from '../iam/testing.ts';
import { validateTargets } from '../proxy/config.ts';
import type { SecretSource } from '../proxy/ports.ts';
import { ProxyService } from '../proxy/service.ts';
import { proxyRoutes } from './admin-proxy.ts';
import { adminTestApp, type AdminTestApp } from './testing.ts';

const secrets: SecretSource = {
  current: async () => ({ versionId: 'v1', username: 'app', password: 'unused-in-these-tests' }),
  previous: async () => undefined,
  onRotated: () => () => {},
};
let proxy: ProxyService;
let app: AdminTestApp;

before(async () => {
  proxy = new ProxyService({ secrets, targets: validateTargets([{ name: 'app', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: 5432 }, secretIds: ['s'] }]) });
  await proxy.start();
  const t = await testIam();
  app = await adminTestApp(t, proxyRoutes(proxy, { region: REGION, accountId: t.iam.accountId }));
});

after(async () => {
  await app?.app.close();
  await proxy?.close();
});

const post = (url: string, body?: object) => app.inject({ method: 'POST', url, ...(body ? { body } : {}) });

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
  app.audit.events.length = 0;
  let r = await post('/v1/proxy/targets/app/pause', { timeoutMs: 1000 });
  assert.equal(r.statusCode, 200);
  assert.equal((r.json() as { target: { paused: boolean } }).target.paused, true);
  r = await post('/v1/proxy/targets/app/switch', { host: '127.0.0.1', port: 6543 });
  assert.equal(r.statusCode, 200);
  assert.deepEqual((r.json() as { target: { upstream: object; generation: number } }).target.upstream, { host: '127.0.0.1', port: 6543 });
  r = await post('/v1/proxy/targets/app/resume');
  assert.equal((r.json() as { target: { paused: boolean; generation: number } }).target.paused, false);
  const arn = `arn:aws:rekey:${REGION}:111122223333:proxy/app`;
  assert.deepEqual(app.audit.events.map((e) => [e.eventName, e.resources.map((r) => r.ARN), e.errorCode]), [
    ['PauseProxy', [arn], undefined],
    ['SwitchProxy', [arn], undefined],
    ['ResumeProxy', [arn], undefined],
  ]);
  assert.deepEqual(app.audit.events[1]!.requestParameters, { name: 'app', host: '127.0.0.1', port: 6543 });
});

test('cutover: one call, audited as CutoverProxy before the change; refused while paused', async () => {
  app.audit.events.length = 0;
  const r = await post('/v1/proxy/targets/app/cutover', { host: '127.0.0.1', port: 6544, timeoutMs: 1000 });
  assert.equal(r.statusCode, 200);
  const body = r.json() as { from: object; to: object; stallMs: number; target: { upstream: object; paused: boolean; lastStallMs: number } };
  assert.deepEqual([body.to, body.target.upstream, body.target.paused], [{ host: '127.0.0.1', port: 6544 }, { host: '127.0.0.1', port: 6544 }, false]);
  assert.equal(body.stallMs, body.target.lastStallMs);
  const arn = `arn:aws:rekey:${REGION}:111122223333:proxy/app`;
  assert.deepEqual(app.audit.events.map((e) => [e.eventName, e.resources.map((x) => x.ARN), e.errorCode, e.requestParameters]), [
    ['CutoverProxy', [arn], undefined, { name: 'app', host: '127.0.0.1', port: 6544, timeoutMs: 1000 }],
  ]);
  await post('/v1/proxy/targets/app/pause', { timeoutMs: 1000 });
  const refused = await post('/v1/proxy/targets/app/cutover', { host: '127.0.0.1', port: 6545 });
  assert.deepEqual([refused.statusCode, refused.json().error, refused.json().message], [400, 'ValidationException', 'proxy target app is paused: resume it before a cutover']);
  await post('/v1/proxy/targets/app/resume');
  assert.deepEqual(proxy.status()[0]!.upstream, { host: '127.0.0.1', port: 6544 });
});

test('errors are typed: unknown target, switch without pause, bad input', async () => {
  const cases: [string, object | undefined, number, string, string][] = [
    ['/v1/proxy/targets/nope/pause', undefined, 400, 'NotFoundException', 'proxy target nope does not exist'],
    ['/v1/proxy/targets/app/switch', { host: '127.0.0.1', port: 1 }, 400, 'ValidationException', 'switch needs a paused target (pause first)'],
    ['/v1/proxy/targets/app/pause', { timeoutMs: -1 }, 400, 'ValidationException', 'Invalid request: /timeoutMs must be >= 1'],
    ['/v1/proxy/targets/app/switch', { host: '', port: 1 }, 400, 'ValidationException', 'Invalid request: /host must NOT have fewer than 1 characters'],
    ['/v1/proxy/targets/app/cutover', { host: '127.0.0.1', port: 70000 }, 400, 'ValidationException', 'Invalid request: /port must be <= 65535'],
    ['/v1/proxy/targets/nope/cutover', { host: '127.0.0.1', port: 1 }, 400, 'NotFoundException', 'proxy target nope does not exist'],
  ];
  for (const [url, body, status, error, message] of cases) {
    const r = await post(url, body);
    assert.equal(r.statusCode, status, url);
    assert.deepEqual([r.json().error, r.json().message], [error, message]);
  }
  const bad = await post('/v1/proxy/targets/bad%20name/resume');
  assert.equal(bad.json().error, 'ValidationException');
  const notJson = await app.inject({ method: 'POST', url: '/v1/proxy/targets/app/pause', payload: '{' });
  assert.equal(notJson.json().error, 'SerializationException');
});
