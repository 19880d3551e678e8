import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILTIN_RULES, breaches, matches } from './model.ts';
import { checkRule } from './store.ts';

test('matches: every named field must match; exists tests presence; an empty pattern matches nothing', () => {
  const denied = { eventSource: 'kms.amazonaws.com', eventName: 'Encrypt', errorCode: 'AccessDeniedException' };
  assert.equal(matches({ eventSource: ['kms.amazonaws.com'], errorCode: ['AccessDeniedException'] }, denied), true);
  assert.equal(matches({ eventSource: ['kms.amazonaws.com'], errorCode: ['AccessDenied'] }, denied), false);
  assert.equal(matches({ eventName: ['DisableKey'], errorCode: { exists: false } }, { eventSource: 'kms.amazonaws.com', eventName: 'DisableKey' }), true);
  assert.equal(matches({ eventName: ['DisableKey'], errorCode: { exists: false } }, { ...denied, eventName: 'DisableKey' }), false, 'a refused DisableKey disabled nothing');
  assert.equal(matches({ errorCode: { exists: true } }, denied), true);
  assert.equal(matches({}, denied), false);
});

test('breaches: the four CloudWatch comparisons at and around the threshold', () => {
  assert.deepEqual([0, 1, 2].map((v) => breaches('GreaterThanThreshold', v, 1)), [false, false, true]);
  assert.deepEqual([0, 1, 2].map((v) => breaches('GreaterThanOrEqualToThreshold', v, 1)), [false, true, true]);
  assert.deepEqual([0, 1, 2].map((v) => breaches('LessThanThreshold', v, 1)), [true, false, false]);
  assert.deepEqual([0, 1, 2].map((v) => breaches('LessThanOrEqualToThreshold', v, 1)), [true, true, false]);
});

test('every built-in rule passes the checks a user rule gets', () => {
  for (const r of BUILTIN_RULES) assert.doesNotThrow(() => checkRule(r), r.name);
  assert.equal(new Set(BUILTIN_RULES.map((r) => r.name)).size, BUILTIN_RULES.length);
});

test('checkRule: a bad name, an empty pattern, an empty value list, a bad metric name are ValidationExceptions', () => {
  const ev = { name: 'a', kind: 'event' as const, description: '', enabled: true, periodSeconds: 60 };
  const cases = [
    { ...ev, name: '-x', pattern: { eventName: ['A'] } },
    { ...ev, pattern: {} },
    { ...ev, pattern: { eventName: [] } },
    { name: 'm', kind: 'metric' as const, description: '', enabled: true, periodSeconds: 60, metric: '1abc', labels: {}, statistic: 'value' as const, comparison: 'GreaterThanThreshold' as const, threshold: 0 },
  ];
  for (const c of cases) assert.throws(() => checkRule(c), (e: Error) => e.name === 'ValidationException', JSON.stringify(c));
});
