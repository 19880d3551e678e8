import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RefusedRequests } from './refused.ts';
import { MemoryAudit } from './testing.ts';
import { RouteNotFoundException, RequestEntityTooLargeException } from '../errors.ts';

const refusal = (i: number, error = new RouteNotFoundException(`No route GET /x${i}`)) => ({
  requestId: `r${i}`, sourceIp: `10.0.0.${i % 7}`, userAgent: 'ua', method: 'GET', url: `/x${i}?secret=s${i}`, error,
});

test('a flood of refusals: perSecond events, the rest counted into one summary per error code; none lost, none with the query string', () => {
  const audit = new MemoryAudit();
  let now = 5_000_250;
  const r = new RefusedRequests(audit, { region: 'us-east-1', perSecond: 3, clock: () => now, log: (err) => assert.fail(String(err)) });
  for (let i = 0; i < 10; i++) r.record(refusal(i));
  for (let i = 10; i < 12; i++) r.record(refusal(i, new RequestEntityTooLargeException('Request body exceeds the maximum of 1 bytes.')));
  assert.deepEqual(audit.events.map((e) => [e.eventName, e.requestID, e.errorCode]), [
    ['RefusedRequest', 'r0', 'RouteNotFoundException'], ['RefusedRequest', 'r1', 'RouteNotFoundException'], ['RefusedRequest', 'r2', 'RouteNotFoundException'],
  ]);
  assert.deepEqual(audit.events[0]!.requestParameters, { method: 'GET', path: '/x0' });
  now += 1000; // the next second: the previous one's summaries are written first
  r.record(refusal(12));
  const summaries = audit.events.filter((e) => e.eventName === 'RefusedRequests');
  assert.deepEqual(summaries.map((e) => [e.eventSource, e.errorCode, e.additionalEventData]), [
    ['rekey.http', 'RouteNotFoundException', { refusedCount: 7, distinctSourceIps: 7, windowStart: new Date(5_000_000).toISOString() }],
    ['rekey.http', 'RequestEntityTooLargeException', { refusedCount: 2, distinctSourceIps: 2, windowStart: new Date(5_000_000).toISOString() }],
  ]);
  assert.deepEqual(audit.events.at(-1)!.requestID, 'r12');
  assert.doesNotMatch(JSON.stringify(audit.events), /secret=/);
  r.flush();
});

test('an audit sink that fails: the refusal is logged, never thrown', async () => {
  const audit = new MemoryAudit();
  audit.failing = true;
  const logged: unknown[] = [];
  const r = new RefusedRequests(audit, { region: 'us-east-1', log: (err) => logged.push(err) });
  r.record(refusal(1));
  await new Promise((res) => setImmediate(res));
  assert.deepEqual(logged.map((e) => (e as Error).message), ['audit sink unavailable']);
});
