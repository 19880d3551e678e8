import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRules, indexOps, nextRotation, windowMs } from './schedule.ts';
import type { SecretRecord } from '../model.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 10, 6, 0, 0);

test('RotationRules validation: AWS limits and messages', () => {
  assert.throws(() => checkRules({ AutomaticallyAfterDays: 3, ScheduleExpression: 'rate(3 days)' }), { name: 'InvalidParameterException', message: /both rotation frequency and schedule expression/ });
  assert.throws(() => checkRules({ ScheduleExpression: 'rate(3 hours)' }), { message: /between 4 and 24 hours/ });
  assert.throws(() => checkRules({ ScheduleExpression: 'rate(30 minutes)' }), { name: 'InvalidParameterException' });
  assert.throws(() => checkRules({ ScheduleExpression: 'rate(1001 days)' }), { message: /between 1 and 1000 days/ });
  assert.throws(() => checkRules({ ScheduleExpression: 'cron(nonsense)' }), { name: 'InvalidParameterException' });
  assert.throws(() => checkRules({ AutomaticallyAfterDays: 1, Duration: '25h' }), { message: /between 1h and 24h/ });
  checkRules({ ScheduleExpression: 'rate(4 hours)', Duration: '2h' });
  checkRules({ ScheduleExpression: 'cron(0 16 ? * SUN *)', Duration: '3h' });
  checkRules({ AutomaticallyAfterDays: 1000 });
});

test('next rotation: days after the last, rate from the anchor, cron occurrences', () => {
  assert.equal(nextRotation({ AutomaticallyAfterDays: 30 }, T0), T0 + 30 * DAY);
  assert.equal(nextRotation({ ScheduleExpression: 'rate(6 hours)' }, T0), T0 + 6 * HOUR);
  assert.equal(nextRotation({ ScheduleExpression: 'cron(0 16 ? * SUN *)' }, T0), Date.UTC(2026, 0, 11, 16, 0, 0));
  assert.equal(nextRotation(undefined, T0), undefined);
});

test('windows: Duration, one hour for hourly rates, else the rest of the UTC day', () => {
  assert.equal(windowMs({ AutomaticallyAfterDays: 1, Duration: '3h' }, T0), 3 * HOUR);
  assert.equal(windowMs({ ScheduleExpression: 'rate(4 hours)' }, T0), HOUR);
  assert.equal(windowMs({ AutomaticallyAfterDays: 1 }, T0), 18 * HOUR);
});

test('due-index entries follow the record', () => {
  const base: SecretRecord = { v: 1, uid: 'u', name: 'a/b', arn: 'arn', keyArn: 'k', tags: [], created: 0, lastChanged: 0, versions: {} };
  const on = { ...base, rotation: { enabled: true, next: T0 } };
  assert.deepEqual(indexOps(null, on).map((o) => [o.type, o.key]), [['put', 'secrets/rot/2026-01-10T06:00:00.000Z/a/b']]);
  assert.deepEqual(indexOps(on, on), []);
  const deleted = { ...on, deleted: T0, deletionDate: T0 + 7 * DAY };
  assert.deepEqual(indexOps(on, deleted).map((o) => [o.type, o.key]), [['delete', 'secrets/rot/2026-01-10T06:00:00.000Z/a/b'], ['put', 'secrets/del/2026-01-17T06:00:00.000Z/a/b']]);
  assert.deepEqual(indexOps(deleted, null).map((o) => o.type), ['delete']);
});
