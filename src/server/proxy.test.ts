// The proxy's audit events carry what docs/PROXY.md's table promises: a ProxyCutover names the
// action, the endpoint switched to and from, and the measured times (issue 19 item 5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditLog, AuditEvent } from '../audit/index.ts';
import { loadConfig } from '../config/config.ts';
import { proxyAudit } from './proxy.ts';

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
