import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessDeniedException } from '../errors.ts';
import { kmsApiEvent } from './event.ts';
import { AuditLog } from './log.ts';
import { StoreSink } from './sinks/store.ts';
import { ACCOUNT, CALLER, KEY_ARN, KEY_ID, testBarrier } from './testing.ts';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const OTHER_KEY = '0000aaaa-12ab-34cd-56ef-1234567890ab';
const BOB = { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/bob`, accessKeyId: 'AKIABOB0000000000001' };

/** 30 events over 30 minutes on two nodes: Encrypt by alice on KEY, Decrypt by bob on OTHER_KEY, some denied. */
async function setup() {
  const { barrier } = await testBarrier();
  const a = await AuditLog.open({ node: 'a', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0 });
  const b = await AuditLog.open({ node: 'b', barrier, sinks: [new StoreSink(barrier)], digestPeriodMs: 0 });
  for (let i = 0; i < 30; i++) {
    const alice = i % 2 === 0;
    await (i % 3 === 0 ? a : b).append(kmsApiEvent({
      operation: alice ? 'Encrypt' : 'Decrypt',
      input: { KeyId: alice ? KEY_ID : OTHER_KEY },
      ...(i % 5 === 4 ? { error: new AccessDeniedException('denied') } : {}),
      caller: alice ? CALLER : BOB, requestId: `r${i}`, sourceIp: '10.0.0.1', userAgent: 'ua', region: 'us-east-1',
      now: new Date(T0 + i * 60_000),
    }));
  }
  return { a, b };
}

const ids = (r: { events: { event: { requestID: string } }[] }) => r.events.map((e) => e.event.requestID);

test('lookup returns events of every node, newest first', async () => {
  const { a } = await setup();
  const r = await a.lookup({ maxResults: 1000 });
  assert.deepEqual(ids(r), Array.from({ length: 30 }, (_, i) => `r${29 - i}`));
  assert.equal(r.nextToken, undefined);
});

test('filters: event name, principal by ARN or access key id, resource by ARN or key id, time range', async () => {
  const { a } = await setup();
  assert.equal((await a.lookup({ eventName: 'Decrypt', maxResults: 100 })).events.length, 15);
  assert.deepEqual(ids(await a.lookup({ principal: BOB.arn, maxResults: 3 })), ['r29', 'r27', 'r25']);
  assert.equal((await a.lookup({ principal: CALLER.accessKeyId, maxResults: 100 })).events.length, 15);
  assert.equal((await a.lookup({ resource: KEY_ARN, maxResults: 100 })).events.length, 15);
  assert.deepEqual(ids(await a.lookup({ resource: OTHER_KEY, maxResults: 2 })), ['r29', 'r27']);
  const window = await a.lookup({ startTime: new Date(T0 + 10 * 60_000), endTime: new Date(T0 + 12 * 60_000) });
  assert.deepEqual(ids(window), ['r12', 'r11', 'r10']);
  const denied = (await a.lookup({ maxResults: 100 })).events.filter((e) => e.event.errorCode === 'AccessDeniedException');
  assert.equal(denied.length, 6);
});

test('pagination walks every match exactly once', async () => {
  const { a } = await setup();
  const seen: string[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const r = await a.lookup({ eventName: 'Encrypt', maxResults: 4, ...(nextToken ? { nextToken } : {}) });
    seen.push(...ids(r));
    nextToken = r.nextToken;
    pages++;
  } while (nextToken);
  assert.deepEqual(seen, Array.from({ length: 15 }, (_, i) => `r${28 - 2 * i}`));
  assert.ok(pages >= 4);
});

test('bad tokens and limits are ValidationExceptions', async () => {
  const { a } = await setup();
  await assert.rejects(a.lookup({ nextToken: 'bm90LWEta2V5' }), { name: 'ValidationException', message: 'The nextToken is not valid.' });
  await assert.rejects(a.lookup({ maxResults: 0 }), { name: 'ValidationException' });
  await assert.rejects(a.lookup({ maxResults: 1001 }), { name: 'ValidationException' });
  await assert.rejects(a.lookup({ startTime: new Date(T0 + 1), endTime: new Date(T0) }), { name: 'ValidationException' });
});
