import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend } from '../storage/memory.ts';
import { barrierOver } from '../jobs/testdata/fixtures.ts';
import type { AuditEvent, AuditRecord } from '../audit/index.ts';
import { AlarmService, type MetricSample } from './service.ts';

async function setup(o: { auditFails?: () => boolean; series?: () => MetricSample[] } = {}) {
  let now = Date.parse('2030-01-01T00:00:00Z');
  const events: AuditEvent[] = [];
  const enqueued: unknown[] = [];
  const svc = new AlarmService({
    barrier: await barrierOver(new MemoryBackend()), region: 'us-east-1', accountId: '111122223333', clock: () => new Date(now),
    jobs: { registerKind: () => {}, enqueue: async (input) => { enqueued.push(input); return { job: {} as never, created: true }; } },
    audit: { append: async (e) => { if (o.auditFails?.()) throw new Error('sink down'); events.push(e); } },
    metrics: { read: async (name) => (name === 'rekey_audit_sink_failures_total' ? (o.series?.() ?? []) : null) },
  });
  const record = (e: Partial<AuditEvent>): AuditRecord => ({ node: 'n', seq: 1, prevHash: '', hash: '', event: { eventSource: 'kms.amazonaws.com', eventName: 'Encrypt', eventID: 'e1', ...e } as AuditEvent });
  return { svc, events, enqueued, record, advance: (ms: number) => { now += ms; } };
}

test('a transition that cannot be audited does not happen; the next matching event records it', async () => {
  let failing = true;
  const t = await setup({ auditFails: () => failing });
  await t.svc.store.putTarget({ name: 'hook', type: 'webhook', url: 'https://hooks.example.com/x' });
  t.svc.onRecords([t.record({ errorCode: 'AccessDeniedException' })]);
  await t.svc.settled();
  assert.equal((await t.svc.store.state('kms-access-denied'))?.rec.state ?? 'OK', 'OK');
  assert.equal(t.enqueued.length, 0, 'no notification for a transition not recorded');
  failing = false;
  t.svc.onRecords([t.record({ errorCode: 'AccessDeniedException', eventID: 'e2' })]);
  await t.svc.settled();
  const st = (await t.svc.store.state('kms-access-denied'))!.rec;
  assert.equal(st.state, 'ALARM');
  assert.match(st.reason, /event e2/);
  assert.equal(t.events.length, 1);
  assert.equal(t.events[0]!.eventName, 'AlarmStateChanged');
  assert.equal(t.enqueued.length, 1);
});

test("increase: a counter's growth within the period, not its total; OK once it stops growing for a period", async () => {
  let value = 0;
  const t = await setup({ series: () => [{ labels: { sink: 'file:/x' }, value }] });
  assert.deepEqual(await t.svc.evaluate(), []); // 0 since start: OK, first state written
  value = 3;
  t.advance(60_000);
  assert.deepEqual(await t.svc.evaluate(), [{ name: 'audit-sink-failing', to: 'ALARM' }]);
  t.advance(200_000); // 260 s: the 3 failures are still within the 300 s window
  assert.deepEqual(await t.svc.evaluate(), []);
  t.advance(120_000); // 380 s: the sample at 60 s (value 3) is the baseline now
  assert.deepEqual(await t.svc.evaluate(), [{ name: 'audit-sink-failing', to: 'OK' }]);
  assert.match((await t.svc.store.state('audit-sink-failing'))!.rec.reason, /= 0 \(GreaterThanThreshold 0\)/);
});

test('events of rekey.alarms itself never match, so a transition cannot feed itself', async () => {
  const t = await setup();
  await t.svc.store.putRule({ name: 'everything', kind: 'event', description: '', enabled: true, periodSeconds: 60, pattern: { errorCode: { exists: false } } });
  t.svc.onRecords([t.record({ eventSource: 'rekey.alarms', eventName: 'AlarmStateChanged' })]);
  await t.svc.settled();
  assert.equal(await t.svc.store.state('everything'), null);
});
