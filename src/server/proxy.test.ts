// The proxy's audit events carry what docs/PROXY.md's table promises: a ProxyCutover names the
// action, the endpoint switched to and from, and the measured times (issue 19 item 5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditLog, AuditEvent } from '../audit/index.ts';
import { loadConfig } from '../config/config.ts';
import { liveEndpoints, proxyAudit } from './proxy.ts';
import { validateTargets } from '../proxy/config.ts';
import type { SecretsService } from '../secrets/service.ts';

test('ProxyCutover carries action, endpoint, from, drained, paused and stall times; a failed login names the user', async () => {
  const events: AuditEvent[] = [];
  const audit = { append: async (e: AuditEvent) => { events.push(e); } } as unknown as AuditLog;
  const cfg = loadConfig({ dataDir: '/tmp/x' }, {});
  const record = proxyAudit(audit, cfg, () => {});
  record({ type: 'cutover', target: 'app', action: 'cutover', endpoint: { host: '10.0.0.2', port: 5433 }, from: { host: '10.0.0.1', port: 5432 }, drainedMs: 3, pausedMs: 14, stallMs: 12 });
  record({ type: 'client-auth', target: 'app', ok: false, user: 'app', database: 'db', remote: '127.0.0.1', method: 'scram', tls: false, reason: 'password authentication failed' } as Parameters<typeof record>[0]);
  await new Promise((r) => setImmediate(r));
  assert.equal(events[0]!.eventName, 'ProxyCutover');
  assert.deepEqual(events[0]!.additionalEventData, { target: 'app', action: 'cutover', endpoint: '10.0.0.2:5433', from: '10.0.0.1:5432', drainedMs: 3, pausedMs: 14, stallMs: 12 });
  assert.deepEqual(events[0]!.resources, [{ accountId: '111122223333', type: 'Rekey::Proxy::Target', ARN: 'arn:aws:rekey:us-east-1:111122223333:proxy-target/app' }]);
  assert.equal(events[1]!.eventName, 'ClientAuthenticationFailed');
  assert.equal((events[1]!.additionalEventData as Record<string, unknown>)['dbUser'], 'app');
});

test('liveEndpoints: a served secret follows its target\'s stored cutover, else a live switch; unmoved targets and other secrets: undefined; disagreeing targets fail', async () => {
  const arnOf: Record<string, string> = { 'app/db': 'arn:db', 'other/db': 'arn:other' };
  const secrets = { ctx: { find: async (id: string) => (arnOf[id] ? { rec: { arn: arnOf[id] } } : null) } } as unknown as SecretsService;
  const stored = new Map<string, { host: string; port: number }>();
  const live = new Map<string, { host: string; port: number }>();
  const store = { load: async (t: string) => stored.get(t), save: async () => {} };
  const targets = validateTargets([
    { name: 'a', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: 'db1', port: 5432 }, secretIds: ['app/db'] },
    { name: 'b', listen: { host: '127.0.0.1', port: 0 }, upstream: { host: 'db1', port: 5432 }, secretIds: ['app/db'] },
  ]);
  const resolve = liveEndpoints(targets, secrets, store, (t) => live.get(t) ?? { host: 'db1', port: 5432 });
  assert.equal(await resolve('arn:db'), undefined);
  live.set('a', { host: 'db2', port: 5433 }); // a manual switch on this node
  await assert.rejects(resolve('arn:db'), /proxy targets a \(db2:5433\) and b \(db1:5432\) serve this secret from different servers/);
  stored.set('b', { host: 'db2', port: 5433 }); // b's cutover, stored for every node
  assert.deepEqual(await resolve('arn:db'), { host: 'db2', port: 5433, via: 'a' });
  assert.equal(await resolve('arn:other'), undefined);
});
