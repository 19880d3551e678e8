// Schedule expressions: when something recurs. All arithmetic is in UTC (no daylight saving).
//
//   rate(N minutes|hours|days)   AWS EventBridge / Secrets Manager; every N units from an anchor
//   cron(m h dom mon dow year)   AWS cron, see cron.ts
//   everyDays(n, anchor)         KMS rotation periods: anchor + k * n days (RotationPeriodInDays)
//
// A "day" is 86,400,000 ms: AWS KMS counts rotation periods in days, not calendar months or years,
// so a 365-day period from 2024-01-01 lands on 2024-12-31 in a leap year.
import { ValidationException } from '../errors.ts';
import { DAY, HOUR, MINUTE } from './clock.ts';
import { type CronExpression, cronNext, parseCron } from './cron.ts';

export interface Schedule {
  /** The normalized expression. */
  readonly expression: string;
  /** First occurrence strictly after `after`, or null if there is none. */
  next(after: Date): Date | null;
}

const UNITS: Record<string, number> = { minute: MINUTE, hour: HOUR, day: DAY };

/** Occurrences at anchor + k * periodMs for k >= 1 (the anchor itself is the start, not an occurrence). */
export class EverySchedule implements Schedule {
  constructor(readonly expression: string, readonly periodMs: number, readonly anchor: Date) {
    if (!(Number.isSafeInteger(periodMs) && periodMs > 0)) throw new ValidationException('schedule period must be a positive whole number of milliseconds');
    if (!Number.isFinite(anchor.getTime())) throw new ValidationException('schedule anchor must be a valid date');
  }

  next(after: Date): Date {
    const a = this.anchor.getTime();
    const k = Math.max(1, Math.floor((after.getTime() - a) / this.periodMs) + 1);
    return new Date(a + k * this.periodMs);
  }
}

export class CronSchedule implements Schedule {
  readonly expression: string;
  constructor(readonly cron: CronExpression) {
    this.expression = cron.expression;
  }

  next(after: Date): Date | null {
    return cronNext(this.cron, after);
  }
}

/**
 * AWS EventBridge: "rate(value unit)" where value is a positive number and unit is minute(s),
 * hour(s) or day(s). "If the value is equal to 1, then the unit must be singular. If the value is
 * greater than 1, the unit must be plural." Occurrences are counted from `anchor` (when the
 * schedule was created).
 */
export function parseRate(input: string, anchor: Date): EverySchedule {
  const m = /^\s*rate\(\s*(\d{1,6})\s+([a-z]+)\s*\)\s*$/i.exec(input);
  if (!m) throw new ValidationException(`invalid rate expression ${JSON.stringify(input)}: expected rate(N minutes|hours|days)`);
  const n = Number(m[1]);
  const word = m[2]!.toLowerCase();
  const singular = word.endsWith('s') ? word.slice(0, -1) : word;
  const unit = UNITS[singular];
  if (!unit) throw new ValidationException(`invalid rate expression ${JSON.stringify(input)}: the unit must be minute(s), hour(s) or day(s)`);
  if (n < 1) throw new ValidationException(`invalid rate expression ${JSON.stringify(input)}: the value must be positive`);
  if ((n === 1) !== (word === singular)) throw new ValidationException(`invalid rate expression ${JSON.stringify(input)}: use "${singular}" for 1 and "${singular}s" for more`);
  return new EverySchedule(`rate(${n} ${word})`, n * unit, anchor);
}

/** A rotation period: every `days` days after `anchor` (AWS KMS RotationPeriodInDays). */
export function everyDays(days: number, anchor: Date): EverySchedule {
  if (!(Number.isSafeInteger(days) && days >= 1)) throw new ValidationException('a period in days must be a positive integer');
  return new EverySchedule(`every(${days} days)`, days * DAY, anchor);
}

/** Parses rate(...) or cron(...). `anchor` (default: now) is where a rate starts counting. */
export function parseSchedule(expression: string, anchor: Date = new Date()): Schedule {
  const e = expression.trim();
  if (/^rate\(/i.test(e)) return parseRate(e, anchor);
  if (/^cron\(/i.test(e)) return new CronSchedule(parseCron(e));
  throw new ValidationException(`invalid schedule expression ${JSON.stringify(expression)}: expected rate(...) or cron(...)`);
}

/**
 * Occurrences in (since, until], oldest first: the newest `limit` of them. After an outage a
 * schedule catches up with its latest occurrence(s), not with every one it missed.
 *
 * Walking forward from `since` could step through a year of minutes; instead look back from
 * `until` through growing windows and stop at the first that holds `limit` occurrences, so the
 * walk covers at most the occurrences in the smallest such window.
 */
export function occurrencesBetween(s: Schedule, since: Date, until: Date, limit = 1): Date[] {
  if (!(Number.isSafeInteger(limit) && limit >= 1)) throw new RangeError('limit must be a positive integer');
  const lo = since.getTime();
  const hi = until.getTime();
  for (const w of [HOUR, DAY, 32 * DAY, 367 * DAY, 3700 * DAY, Infinity]) {
    const start = Math.max(lo, hi - w);
    const out: Date[] = [];
    for (let t = s.next(new Date(start)); t && t.getTime() <= hi; t = s.next(t)) {
      out.push(t);
      if (out.length > limit) out.shift();
    }
    if (out.length >= limit || start === lo) return out;
  }
  return [];
}
