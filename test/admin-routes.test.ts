// The admin route table (src/http/admin-routes.ts) walked on a real server (issue 12, "must show"):
// every route refuses a caller without credentials and a principal without its permission, and
// each refusal is an audit event; with the audit sink failing, no route answers with anything but
// InternalFailure, and the mutations (IAM CreateUser, jobs cancel, certs rotate, proxy switch)
// change nothing. Mutations write through the call's gated view (src/storage/gate.ts): a mutation
// the domain refuses before writing has one event, with its error, and no correction.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { startTestServer, TEST_CREDS, type TestServer } from './helpers/server.ts';
import { adminRoutesOf } from '../src/http/app.ts';
import { isMutatingRoute, type AdminRoute } from '../src/http/admin-routes.ts';
import { signRequest, type SigningCredentials } from '../src/iam/sigv4-sign.ts';
import { proxyRoutes } from '../src/http/admin-proxy.ts';
import { adminTestApp, type AdminTestApp } from '../src/http/testing.ts';
import { testIam } from '../src/iam/testing.ts';
import { ProxyService } from '../src/proxy/service.ts';
import { validateTargets } from '../src/proxy/config.ts';

/** Values for path parameters that pass every route's pattern, so refusals come from IAM, not validation. */
const PARAMS: Record<string, string> = {
  id: '01890000-0000-7000-8000-000000000000', keyId: '11111111-2222-3333-4444-555555555555', name: 'walk',
  UserName: 'walk-user', RoleName: 'walk-role', PolicyName: 'walk-policy', AccessKeyId: 'AKIAWALK000000000000',
};
const BODY = { UserName: 'walk-user', RoleName: 'walk-role', VirtualMFADeviceName: 'walk-mfa', name: 'walk', url: 'https://example.com/hook', commonName: 'walk', usage: 'server' };
/** Routes any authenticated caller may use: read-only, answer about the caller or compute a template. */
const ANY_AUTHENTICATED = ['GET /v1/iam/whoami', 'POST /v1/iam/key-policy'];

const urlOf = (r: AdminRoute) => r.url.replace(/:(\w+)/g, (_m, p: string) => encodeURIComponent(PARAMS[p] ?? 'x'))
  + (r.method === 'DELETE' && r.url.includes('mfa-devices') ? `?SerialNumber=${encodeURIComponent('arn:aws:iam::111122223333:mfa/walk-mfa')}` : '');

interface Reply { status: number; body: Record<string, unknown> }

async function call(s: TestServer, creds: SigningCredentials | null, method: string, url: string, body?: unknown, service = 'iam'): Promise<Reply> {
  const u = new URL(s.url + url);
  const payload = body === undefined || method === 'GET' || method === 'DELETE' ? '' : JSON.stringify(body);
  const base: Record<string, string> = payload ? { 'content-type': 'application/json' } : {};
  const headers = creds ? signRequest({ method, host: u.host, path: u.pathname, query: u.search.slice(1), headers: base, body: payload }, creds, { region: 'us-east-1', service, now: new Date() }) : base;
  if (!s.ca) {
    const res = await fetch(u, { method, headers, ...(payload ? { body: payload } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }
  return new Promise((resolve, reject) => {
    const rq = httpsRequest(u, { method, headers, ca: s.ca }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    rq.on('error', reject);
    rq.end(payload);
  });
}

async function eventFor(s: TestServer, requestId: unknown): Promise<{ eventName: string; errorCode?: string } | undefined> {
  const page = await s.audit.lookup({ maxResults: 20 });
  return page.events.map((r) => r.event).find((e) => e.requestID === requestId);
}

let s: TestServer;
before(async () => { s = await startTestServer({ env: { REKEY_TLS: 'generated' } }); });
after(async () => { await s.cleanup(); });

test('every admin route refuses strangers and principals without its permission, and audits the refusal', async () => {
  const routes = adminRoutesOf(s.app);
  assert.ok(routes.length >= 40, `the whole table is registered (${routes.length} routes)`);
  // every mutation writes through its call's gated view (src/storage/gate.ts): event right before the first write
  assert.deepEqual(routes.filter((r) => isMutatingRoute(r) && r.gate !== 'operation').map((r) => `${r.method} ${r.url}`), []);
  const user = await s.iam.principals.createUser('powerless');
  const k = await s.iam.accessKeys.create(user);
  const powerless = { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
  const open: string[] = [];
  for (const r of routes) {
    const where = `${r.method} ${r.url}`;
    const service = r.signingName ?? 'iam';
    const none = await call(s, null, r.method, urlOf(r), BODY, service);
    assert.deepEqual([none.status, none.body['error']], [403, 'MissingAuthenticationTokenException'], where);
    assert.equal((await eventFor(s, none.body['requestId']))?.errorCode, 'MissingAuthenticationTokenException', `${where}: unauthenticated call audited`);

    const denied = await call(s, powerless, r.method, urlOf(r), BODY, service);
    if (ANY_AUTHENTICATED.includes(where)) {
      assert.equal(r.permission, null, where);
      assert.equal(isMutatingRoute(r), false, `${where} must not change anything`);
      open.push(where);
      continue;
    }
    assert.equal(denied.body['error'], 'AccessDeniedException', `${where}: ${JSON.stringify(denied.body)}`);
    assert.match(String(denied.body['message']), /is not authorized to perform/, where);
    assert.equal((await eventFor(s, denied.body['requestId']))?.errorCode, 'AccessDeniedException', `${where}: denied call audited`);
  }
  assert.deepEqual(open.sort(), [...ANY_AUTHENTICATED].sort());
});

test('with the audit sink failing, every admin route answers InternalFailure and the mutations change nothing', async () => {
  const f = await startTestServer({ env: { REKEY_TLS: 'generated', REKEY_AUDIT_STORE: 'false', REKEY_AUDIT_FILE: '/dev/full' } });
  try {
    const refused = { error: 'InternalFailure', message: 'The request could not be audited; it was not performed.' };
    for (const r of adminRoutesOf(f.app)) {
      const res = await call(f, TEST_CREDS, r.method, urlOf(r), BODY, r.signingName ?? 'iam');
      assert.deepEqual([res.status, res.body['error'], res.body['message']], [500, refused.error, refused.message], `${r.method} ${r.url}`);
    }
    // IAM CreateUser: no user
    const created = await call(f, TEST_CREDS, 'POST', '/v1/iam/users', { UserName: 'ghost' });
    assert.deepEqual([created.status, created.body['error']], [500, 'InternalFailure']);
    await assert.rejects(f.iam.principals.getUser('ghost'), { name: 'NotFoundException', message: 'The user with name ghost cannot be found.' });
    // jobs cancel: the job is still queued
    const { job } = await f.jobs.enqueue({ kind: 'kms.rotate', target: 'k', data: null, runAt: Date.now() + 3_600_000 });
    const cancelled = await call(f, TEST_CREDS, 'POST', `/v1/jobs/${job.id}/cancel`);
    assert.deepEqual([cancelled.status, cancelled.body['error']], [500, 'InternalFailure']);
    assert.equal((await f.jobs.get(job.id))?.state, 'queued');
    // IAM DeleteUser and CreateAccessKey of an existing user: the user and its keys stay as they were
    const kept = await f.iam.principals.createUser('kept');
    assert.equal((await call(f, TEST_CREDS, 'DELETE', '/v1/iam/users/kept?Force=true')).status, 500);
    assert.equal((await call(f, TEST_CREDS, 'POST', '/v1/iam/users/kept/access-keys')).status, 500);
    assert.equal((await f.iam.principals.getUser('kept')).userId, kept.userId);
    assert.deepEqual(await f.iam.accessKeys.listForUser('kept'), []);
    // certs rotate: the same certificate
    const serial = (await f.certs!.status()).server?.serial;
    assert.ok(serial);
    const rotated = await call(f, TEST_CREDS, 'POST', '/v1/certs/rotate');
    assert.deepEqual([rotated.status, rotated.body['error']], [500, 'InternalFailure']);
    assert.equal((await f.certs!.status()).server?.serial, serial);
    // certs CA rotation start: no new CA in the trust bundle
    const bundle = f.certs!.caBundle();
    assert.equal((await call(f, TEST_CREDS, 'POST', '/v1/certs/ca/rotate', { step: 'start' })).status, 500);
    assert.equal(f.certs!.caBundle(), bundle);
    assert.equal((await f.certs!.status()).caRotation?.phase, 0);
  } finally {
    await f.cleanup();
  }
});

/** A proxy with one target "app" (upstream 127.0.0.1:5432, nothing listening needed) behind the admin routes. */
async function withProxy(f: (proxy: ProxyService, h: AdminTestApp) => Promise<void>): Promise<void> {
  const proxy = new ProxyService({
    secrets: { current: async () => ({ versionId: 'v', username: 'app', password: 'x' }), previous: async () => undefined, onRotated: () => () => {} },
    targets: validateTargets([{ name: 'app', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: '127.0.0.1', port: 5432 }, secretIds: ['s'] }]),
  });
  await proxy.start();
  try {
    const t = await testIam();
    const h = await adminTestApp(t, proxyRoutes(proxy, { region: t.iam.region, accountId: t.iam.accountId }));
    try {
      await f(proxy, h);
    } finally {
      await h.app.close();
    }
  } finally {
    await proxy.close();
  }
}

test('proxy switch with the audit sink failing: the upstream does not change', () => withProxy(async (proxy, h) => {
  assert.equal((await h.inject({ method: 'POST', url: '/v1/proxy/targets/app/pause', body: { timeoutMs: 1000 } })).statusCode, 200);
  h.audit.failing = true;
  const r = await h.inject({ method: 'POST', url: '/v1/proxy/targets/app/switch', body: { host: '127.0.0.1', port: 6543 } });
  assert.deepEqual([r.statusCode, r.json().error, r.json().message], [500, 'InternalFailure', 'The request could not be audited; it was not performed.']);
  assert.deepEqual(proxy.status()[0]!.upstream, { host: '127.0.0.1', port: 5432 });
  h.audit.failing = false;
  assert.equal((await h.inject({ method: 'POST', url: '/v1/proxy/targets/app/switch', body: { host: '127.0.0.1', port: 6543 } })).statusCode, 200);
  assert.deepEqual(proxy.status()[0]!.upstream, { host: '127.0.0.1', port: 6543 });
}));

/** The events of one request, in order. */
async function eventsOf(s: TestServer, requestId: unknown): Promise<{ eventName: string; errorCode?: string; additionalEventData?: unknown }[]> {
  await s.audit.settled(); // the store sink's group commit
  const page = await s.audit.lookup({ maxResults: 50 });
  return page.events.map((r) => r.event).filter((e) => e.requestID === requestId).reverse();
}

test('a mutation the domain refuses before writing has one event, with its error, and no correction (IAM, certs)', async () => {
  await s.iam.principals.createUser('twice');
  const again = await call(s, TEST_CREDS, 'POST', '/v1/iam/users', { UserName: 'twice' });
  assert.deepEqual([again.status, again.body['error'], again.body['message']], [400, 'AlreadyExistsException', 'User with name twice already exists.']);
  assert.deepEqual((await eventsOf(s, again.body['requestId'])).map((e) => [e.eventName, e.errorCode, e.additionalEventData]), [['CreateUser', 'AlreadyExistsException', undefined]]);

  const missing = await call(s, TEST_CREDS, 'DELETE', '/v1/iam/roles/no-such-role');
  assert.deepEqual([missing.body['error'], missing.body['message']], ['NotFoundException', 'The role with name no-such-role cannot be found.']);
  assert.deepEqual((await eventsOf(s, missing.body['requestId'])).map((e) => [e.eventName, e.errorCode]), [['DeleteRole', 'NotFoundException']]);

  const early = await call(s, TEST_CREDS, 'POST', '/v1/certs/ca/rotate', { step: 'finish' });
  assert.equal(early.body['error'], 'CertificateAuthorityRotationStateException');
  assert.deepEqual((await eventsOf(s, early.body['requestId'])).map((e) => [e.eventName, e.errorCode]), [['RotateCertificateAuthority', 'CertificateAuthorityRotationStateException']]);

  // a mutation that succeeds: one event, without an error
  const made = await call(s, TEST_CREDS, 'POST', '/v1/iam/users', { UserName: 'once' });
  assert.equal(made.status, 201);
  await s.audit.settled(); // the store sink's group commit
  const page = await s.audit.lookup({ eventName: 'CreateUser', maxResults: 50 });
  const once = page.events.map((r) => r.event).filter((e) => (e.requestParameters as { userName?: string } | null)?.userName === 'once');
  assert.deepEqual(once.map((e) => e.errorCode ?? null), [null]);
});

test('proxy: a switch of a running target is refused with one event and no correction; an unauditable pause does not pause, an unauditable cutover does not switch', () => withProxy(async (proxy, h) => {
  const r = await h.inject({ method: 'POST', url: '/v1/proxy/targets/app/switch', body: { host: '127.0.0.1', port: 6543 } });
  assert.deepEqual([r.statusCode, r.json().error, r.json().message], [400, 'ValidationException', 'switch needs a paused target (pause first)']);
  assert.deepEqual(h.audit.events.map((e) => [e.eventName, e.errorCode, e.additionalEventData]), [['SwitchProxy', 'ValidationException', undefined]]);
  const unknown = await h.inject({ method: 'POST', url: '/v1/proxy/targets/nope/resume' });
  assert.deepEqual([unknown.statusCode, unknown.json().error, unknown.json().message], [400, 'NotFoundException', 'proxy target nope does not exist']);
  assert.deepEqual(h.audit.events.slice(1).map((e) => [e.eventName, e.errorCode]), [['ResumeProxy', 'NotFoundException']]);
  h.audit.failing = true;
  const paused = await h.inject({ method: 'POST', url: '/v1/proxy/targets/app/pause', body: { timeoutMs: 1000 } });
  assert.deepEqual([paused.statusCode, paused.json().error], [500, 'InternalFailure']);
  assert.equal(proxy.status()[0]!.paused, false);
  const before = proxy.status()[0]!.upstream;
  const cut = await h.inject({ method: 'POST', url: '/v1/proxy/targets/app/cutover', body: { host: '127.0.0.1', port: 6544, timeoutMs: 1000 } });
  assert.deepEqual([cut.statusCode, cut.json().error], [500, 'InternalFailure']);
  assert.deepEqual([proxy.status()[0]!.upstream, proxy.status()[0]!.paused, proxy.status()[0]!.switches], [before, false, 0]);
}));
