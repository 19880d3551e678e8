import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DAY } from './clock.ts';
import { cronNext, parseCron } from './cron.ts';
import { everyDays, occurrencesBetween, parseRate, parseSchedule } from './schedule.ts';

const at = (s: string) => new Date(s);
const iso = (d: Date | null) => d?.toISOString() ?? null;

/** The first n occurrences after `from`. */
function series(expr: string, from: string, n: number): string[] {
  const c = parseCron(expr);
  const out: string[] = [];
  let t: Date | null = at(from);
  for (let i = 0; i < n && t; i++) {
    t = cronNext(c, t);
    if (t) out.push(t.toISOString().slice(0, 16));
  }
  return out;
}

test('cron: next is strictly after, at minute precision', () => {
  const c = parseCron('cron(0 10 * * ? *)');
  assert.equal(iso(cronNext(c, at('2030-01-01T09:59:30Z'))), '2030-01-01T10:00:00.000Z');
  assert.equal(iso(cronNext(c, at('2030-01-01T10:00:00Z'))), '2030-01-02T10:00:00.000Z');
  assert.equal(iso(cronNext(c, at('2030-12-31T10:00:00Z'))), '2031-01-01T10:00:00.000Z');
});

test('cron: steps, lists, ranges, names and wrapping ranges', () => {
  assert.deepEqual(series('cron(0/15 * * * ? *)', '2030-01-01T00:07Z', 4), ['2030-01-01T00:15', '2030-01-01T00:30', '2030-01-01T00:45', '2030-01-01T01:00']);
  assert.deepEqual(series('cron(*/20 9 * * ? *)', '2030-01-01T09:00Z', 3), ['2030-01-01T09:20', '2030-01-01T09:40', '2030-01-02T09:00']);
  assert.deepEqual(series('cron(5,10 22-1 1 jan-Feb ? *)', '2030-01-01T00:00Z', 5), ['2030-01-01T00:05', '2030-01-01T00:10', '2030-01-01T01:05', '2030-01-01T01:10', '2030-01-01T22:05']);
  assert.deepEqual(series('cron(0 0 1 */5 ? *)', '2030-01-01T00:00Z', 3), ['2030-06-01T00:00', '2030-11-01T00:00', '2031-01-01T00:00']);
  // Weekdays only; 2030-01-04 is a Friday. Day-of-week 1 is Sunday.
  assert.deepEqual(series('cron(0 8 ? * MON-FRI *)', '2030-01-04T09:00Z', 2), ['2030-01-07T08:00', '2030-01-08T08:00']);
  assert.deepEqual(series('cron(0 9 ? * 1 *)', '2030-01-01T00:00Z', 2), ['2030-01-06T09:00', '2030-01-13T09:00']);
});

test('cron: L is the last day of every month, leap years included', () => {
  assert.deepEqual(series('cron(0 0 L * ? *)', '2023-12-31T00:00Z', 5), ['2024-01-31T00:00', '2024-02-29T00:00', '2024-03-31T00:00', '2024-04-30T00:00', '2024-05-31T00:00']);
  assert.deepEqual(series('cron(0 0 L 2 ? *)', '2024-03-01T00:00Z', 5), ['2025-02-28T00:00', '2026-02-28T00:00', '2027-02-28T00:00', '2028-02-29T00:00', '2029-02-28T00:00']);
  assert.deepEqual(series('cron(30 23 L-1 * ? *)', '2030-02-01T00:00Z', 2), ['2030-02-27T23:30', '2030-03-30T23:30']);
});

test('cron: a day the month lacks is skipped, and Feb 29 follows the Gregorian leap rule', () => {
  assert.deepEqual(series('cron(0 0 31 * ? *)', '2030-01-31T00:00Z', 3), ['2030-03-31T00:00', '2030-05-31T00:00', '2030-07-31T00:00']);
  assert.deepEqual(series('cron(0 12 29 2 ? *)', '2025-03-01T00:00Z', 2), ['2028-02-29T12:00', '2032-02-29T12:00']);
  // 2100 is divisible by 100 and not by 400: not a leap year.
  assert.deepEqual(series('cron(0 12 29 2 ? *)', '2096-03-01T00:00Z', 1), ['2104-02-29T12:00']);
});

test('cron: W, LW, nL and n#k', () => {
  // 2030-06-15 is a Saturday -> Friday 14th; 2030-09-15 is a Sunday -> Monday 16th.
  assert.deepEqual(series('cron(0 0 15W * ? *)', '2030-06-01T00:00Z', 4), ['2030-06-14T00:00', '2030-07-15T00:00', '2030-08-15T00:00', '2030-09-16T00:00']);
  // 2030-06-01 is a Saturday: the nearest weekday inside June is Monday the 3rd.
  assert.deepEqual(series('cron(0 0 1W * ? *)', '2030-05-31T00:00Z', 1), ['2030-06-03T00:00']);
  // 2030-06-30 is a Sunday -> Friday 28th.
  assert.deepEqual(series('cron(0 0 LW * ? *)', '2030-06-01T00:00Z', 2), ['2030-06-28T00:00', '2030-07-31T00:00']);
  assert.deepEqual(series('cron(0 0 ? * 6L *)', '2030-01-01T00:00Z', 2), ['2030-01-25T00:00', '2030-02-22T00:00']);
  assert.deepEqual(series('cron(0 0 ? * MON#1 *)', '2030-01-01T00:00Z', 2), ['2030-01-07T00:00', '2030-02-04T00:00']);
  // A fifth Monday exists only in some months.
  assert.deepEqual(series('cron(0 0 ? * 2#5 *)', '2030-01-01T00:00Z', 2), ['2030-04-29T00:00', '2030-07-29T00:00']);
});

test('cron: the year field bounds the schedule', () => {
  assert.equal(cronNext(parseCron('cron(0 0 1 1 ? 2031)'), at('2031-01-01T00:00Z')), null);
  assert.deepEqual(series('cron(0 0 1 1 ? 2031-2033/2)', '2020-01-01T00:00Z', 3), ['2031-01-01T00:00', '2033-01-01T00:00']);
});

test('cron: UTC only, so days around daylight-saving changes are exactly 24 hours apart', () => {
  const c = parseCron('cron(30 2 * * ? *)');
  // Europe and the US change clocks on these weekends; UTC does not.
  for (const start of ['2030-03-08T00:00Z', '2030-03-29T00:00Z', '2030-10-25T00:00Z', '2030-11-01T00:00Z']) {
    let t = cronNext(c, at(start))!;
    for (let i = 0; i < 5; i++) {
      const n = cronNext(c, t)!;
      assert.equal(n.getTime() - t.getTime(), DAY);
      assert.equal(n.getUTCHours(), 2);
      t = n;
    }
  }
});

test('cron: invalid expressions are refused with a reason', () => {
  const cases: [string, RegExp][] = [
    ['cron(0 10 * * ?)', /6 fields are required/],
    ['cron(0 10 * * * *)', /exactly one of Day-of-month and Day-of-week must be \?/],
    ['cron(0 10 ? * ? *)', /exactly one of Day-of-month and Day-of-week must be \?/],
    ['cron(60 10 * * ? *)', /Minutes: 60 is outside 0-59/],
    ['cron(0 24 * * ? *)', /Hours: 24 is outside 0-23/],
    ['cron(0 0 32 * ? *)', /Day-of-month: 32 is outside 1-31/],
    ['cron(0 0 1 13 ? *)', /Month: 13 is outside 1-12/],
    ['cron(0 0 ? * 8 *)', /Day-of-week: 8 is outside 1-7/],
    ['cron(0 0 1 * ? 1969)', /Year: 1969 is outside 1970-2199/],
    ['cron(L 0 1 * ? *)', /Minutes: "L" is not allowed here/],
    ['cron(0 0 1 FOO ? *)', /Month: "FOO" is not a number or name/],
    ['cron(0 0 1,L * ? *)', /Day-of-month: "1,L" \(L, L-n, nW and LW stand alone\)/],
    ['cron(0 0 ? * 2#6 *)', /k from 1 to 5/],
    ['cron(0/0 0 1 * ? *)', /step "0" must be a positive integer/],
  ];
  for (const [expr, message] of cases) {
    assert.throws(() => parseCron(expr), (e: Error) => e.name === 'ValidationException' && message.test(e.message), expr);
  }
});

test('rate: AWS units, singular for 1 and plural otherwise', () => {
  const anchor = at('2030-01-01T00:00Z');
  const r = parseRate('rate(5 minutes)', anchor);
  assert.equal(r.expression, 'rate(5 minutes)');
  assert.equal(iso(r.next(at('2030-01-01T00:07Z'))), '2030-01-01T00:10:00.000Z');
  assert.equal(iso(r.next(at('2030-01-01T00:10Z'))), '2030-01-01T00:15:00.000Z');
  // Before the anchor: the first occurrence is one period after it.
  assert.equal(iso(r.next(at('2029-06-01T00:00Z'))), '2030-01-01T00:05:00.000Z');
  assert.equal(iso(parseRate('rate(1 hour)', anchor).next(anchor)), '2030-01-01T01:00:00.000Z');
  for (const [bad, why] of [['rate(1 days)', /use "day" for 1/], ['rate(2 day)', /"days" for more/], ['rate(0 days)', /positive/], ['rate(3 weeks)', /minute\(s\), hour\(s\) or day\(s\)/], ['rate(x days)', /expected rate/]] as const) {
    assert.throws(() => parseRate(bad, anchor), (e: Error) => e.name === 'ValidationException' && why.test(e.message), bad);
  }
});

test('rate(1 day) and rotation periods cross leap days as whole days', () => {
  const daily = parseRate('rate(1 day)', at('2028-02-28T06:00Z'));
  assert.equal(iso(daily.next(at('2028-02-28T06:00Z'))), '2028-02-29T06:00:00.000Z');
  assert.equal(iso(daily.next(at('2028-02-29T06:00Z'))), '2028-03-01T06:00:00.000Z');
  // AWS KMS counts RotationPeriodInDays in days: 365 days after 2024-01-01 is 2024-12-31 (leap year).
  assert.equal(iso(everyDays(365, at('2024-01-01T00:00Z')).next(at('2024-01-01T00:00Z'))), '2024-12-31T00:00:00.000Z');
  assert.equal(iso(everyDays(365, at('2025-01-01T00:00Z')).next(at('2025-01-01T00:00Z'))), '2026-01-01T00:00:00.000Z');
  // Far after the anchor the k-th occurrence is computed directly, still on the anchor's grid.
  const p = everyDays(90, at('2030-01-01T12:00Z'));
  const n = p.next(at('2040-06-01T00:00Z'));
  assert.equal((n.getTime() - at('2030-01-01T12:00Z').getTime()) % (90 * DAY), 0);
  assert.ok(n > at('2040-06-01T00:00Z') && n.getTime() - at('2040-06-01T00:00Z').getTime() <= 90 * DAY);
  assert.throws(() => everyDays(0, at('2030-01-01T00:00Z')), /positive integer/);
});

test('parseSchedule dispatches and occurrencesBetween returns the newest occurrences only', () => {
  assert.equal(parseSchedule('cron(0 0 L * ? *)').expression, 'cron(0 0 L * ? *)');
  assert.throws(() => parseSchedule('at(2030-01-01T00:00:00)'), /expected rate\(\.\.\.\) or cron\(\.\.\.\)/);
  const monthEnds = parseSchedule('cron(0 0 L * ? *)');
  assert.deepEqual(occurrencesBetween(monthEnds, at('2030-01-15T00:00Z'), at('2033-01-15T00:00Z'), 3).map((d) => d.toISOString().slice(0, 10)), ['2032-10-31', '2032-11-30', '2032-12-31']);
  assert.deepEqual(occurrencesBetween(monthEnds, at('2030-01-15T00:00Z'), at('2030-01-30T00:00Z')), []);
  // A year of per-minute occurrences collapses to the last one, without walking the year.
  const everyMinute = parseSchedule('rate(1 minute)', at('2030-01-01T00:00Z'));
  assert.deepEqual(occurrencesBetween(everyMinute, at('2030-01-01T00:00Z'), at('2031-01-01T00:00:30Z')).map(iso), ['2031-01-01T00:00:00.000Z']);
  assert.deepEqual(occurrencesBetween(parseSchedule('cron(* * * * ? *)'), at('2030-01-01T00:00Z'), at('2031-01-01T00:00:30Z'), 2).map(iso), ['2030-12-31T23:59:00.000Z', '2031-01-01T00:00:00.000Z']);
  // Inclusive at `until`, exclusive at `since`.
  assert.deepEqual(occurrencesBetween(monthEnds, at('2030-01-31T00:00Z'), at('2030-02-28T00:00Z')).map(iso), ['2030-02-28T00:00:00.000Z']);
});
