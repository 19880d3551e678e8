import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REGION, testIam } from '../iam/testing.ts';
import { AuditLog } from '../audit/log.ts';
import { eventPath } from '../audit/paths.ts';
import { StoreSink } from '../audit/sinks/store.ts';
import { sampleEvent, testBarrier } from '../audit/testing.ts';
import { auditRoutes } from './admin-audit.ts';
import { adminTestApp } from './testing.ts';

async function setup() {
  const { barrier } = await testBarrier();
  const audit = await AuditLog.open({ node: 'n1', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0 });
  for (let i = 1; i <= 5; i++) await audit.append(sampleEvent(i));
  const t = await testIam();
  const h = await adminTestApp(t, auditRoutes(audit, { region: REGION, accountId: t.iam.accountId }));
  const app = { inject: h.inject, close: () => h.app.close() };
  return { app, audit, barrier };
}

test('GET /v1/audit/events filters and paginates like the CLI', async () => {
  const { app, audit } = await setup();
  const r1 = await app.inject({ method: 'GET', url: '/v1/audit/events?eventName=Encrypt&maxResults=2' });
  assert.equal(r1.statusCode, 200);
  const b1 = r1.json() as { events: { seq: number }[]; nextToken: string };
  assert.deepEqual(b1.events.map((e) => e.seq), [5, 4]);
  const r2 = await app.inject({ method: 'GET', url: `/v1/audit/events?maxResults=10&nextToken=${b1.nextToken}` });
  assert.deepEqual((r2.json() as { events: { seq: number }[] }).events.map((e) => e.seq), [3, 2, 1]);
  const none = await app.inject({ method: 'GET', url: '/v1/audit/events?startTime=2030-01-01T00:00:00Z' });
  assert.deepEqual(none.json(), { events: [] });
  await audit.close();
  await app.close();
});

test('bad queries are 400 ValidationException', async () => {
  const { app, audit } = await setup();
  for (const q of ['maxResults=0', 'maxResults=abc', 'startTime=yesterday', 'nextToken=%2F%2F', 'unknown=1']) {
    const r = await app.inject({ method: 'GET', url: `/v1/audit/events?${q}` });
    assert.equal(r.statusCode, 400, q);
    assert.equal((r.json() as { error: string }).error, 'ValidationException', q);
  }
  await audit.close();
  await app.close();
});

test('GET /v1/audit/public-key and /v1/audit/verify', async () => {
  const { app, audit, barrier } = await setup();
  const pk = (await app.inject({ method: 'GET', url: '/v1/audit/public-key' })).json() as { publicKeyPem: string; fingerprint: string };
  assert.equal(pk.publicKeyPem, audit.publicKey.pem);
  assert.match(pk.fingerprint, /^[0-9a-f]{64}$/);
  assert.equal(((await app.inject({ method: 'GET', url: '/v1/audit/verify' })).json() as { ok: boolean }).ok, true);
  await barrier.delete(eventPath('n1', 2));
  const bad = (await app.inject({ method: 'GET', url: '/v1/audit/verify?from=2024-01-01T00:00:00Z' })).json() as { ok: boolean; firstProblem: { kind: string; seq: number } };
  assert.equal(bad.ok, false);
  assert.deepEqual([bad.firstProblem.kind, bad.firstProblem.seq], ['missing', 2]);
  await audit.close();
  await app.close();
});
