// AWS cron expressions (EventBridge / Secrets Manager ScheduleExpression), always in UTC:
//
//   cron(Minutes Hours Day-of-month Month Day-of-week Year)
//
// AWS EventBridge: "Cron expressions have six required fields, which are separated by white space."
//   Minutes 0-59 [, - * /]; Hours 0-23 [, - * /]; Day-of-month 1-31 [, - * ? / L W];
//   Month 1-12 or JAN-DEC [, - * /]; Day-of-week 1-7 or SUN-SAT [, - * ? L #]; Year 1970-2199 [, - * /]
// AWS EventBridge: "You can't specify the Day-of-month and Day-of-week fields in the same cron
//   expression. If you specify a value or a * (asterisk) in one of the fields, you must use a ?
//   (question mark) in the other."
// Day-of-week 1 is Sunday. Extras, as in Quartz (whose syntax AWS follows): `L` (last day of the
// month), `L-n` (n days before it), `nW` (weekday nearest day n, within the month), `LW` (last
// weekday); `nL` (last weekday n of the month, e.g. 6L = last Friday), `n#k` (k-th weekday n).
// A range whose start is greater than its end wraps (hours 22-2 = 22,23,0,1,2).
import { ValidationException } from '../errors.ts';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
export const CRON_MAX_YEAR = 2199;
const CRON_MIN_YEAR = 1970;

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const F = {
  minute: { name: 'Minutes', min: 0, max: 59 },
  hour: { name: 'Hours', min: 0, max: 23 },
  dom: { name: 'Day-of-month', min: 1, max: 31 },
  month: { name: 'Month', min: 1, max: 12, names: MONTHS },
  dow: { name: 'Day-of-week', min: 1, max: 7, names: DAYS },
  year: { name: 'Year', min: CRON_MIN_YEAR, max: CRON_MAX_YEAR },
} satisfies Record<string, FieldSpec>;

type DayRule =
  | { type: 'any' } // '?' on this side: the other field decides
  | { type: 'set'; values: ReadonlySet<number> }
  | { type: 'last'; offset: number } // L, L-n
  | { type: 'nearestWeekday'; day: number } // nW
  | { type: 'lastWeekday' } // LW
  | { type: 'lastDow'; dow: number } // nL
  | { type: 'nthDow'; dow: number; nth: number }; // n#k

export interface CronExpression {
  readonly expression: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly months: ReadonlySet<number>;
  readonly years: ReadonlySet<number>;
  readonly dom: DayRule;
  readonly dow: DayRule;
}

function bad(expr: string, why: string): never {
  throw new ValidationException(`invalid cron expression ${JSON.stringify(expr)}: ${why}`);
}

function value(expr: string, f: FieldSpec, token: string): number {
  const upper = token.toUpperCase();
  const named = f.names?.indexOf(upper) ?? -1;
  if (named >= 0) return named + f.min;
  if (/^[?LW#]|[LW#]$/i.test(token)) bad(expr, `${f.name}: ${JSON.stringify(token)} is not allowed here (?, L, W and # only in the day fields)`);
  if (!/^\d{1,4}$/.test(token)) bad(expr, `${f.name}: ${JSON.stringify(token)} is not a number${f.names ? ' or name' : ''}`);
  const n = Number(token);
  if (n < f.min || n > f.max) bad(expr, `${f.name}: ${n} is outside ${f.min}-${f.max}`);
  return n;
}

/** `*`, `a`, `a-b`, with an optional `/step`, comma-separated. */
function numbers(expr: string, f: FieldSpec, text: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '') bad(expr, `${f.name}: malformed ${JSON.stringify(part)}`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (stepText !== undefined && !(/^\d{1,4}$/.test(stepText) && step >= 1)) bad(expr, `${f.name}: step ${JSON.stringify(stepText)} must be a positive integer`);
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [f.min, f.max];
    else if (range.includes('-')) {
      const [a, b, more] = range.split('-');
      if (more !== undefined || !a || !b) bad(expr, `${f.name}: malformed range ${JSON.stringify(range)}`);
      [lo, hi] = [value(expr, f, a), value(expr, f, b)];
    } else {
      lo = value(expr, f, range);
      // "5/15": from 5 to the end of the range in steps of 15 (AWS's own example is 0/15).
      hi = stepText === undefined ? lo : f.max;
    }
    const span = f.max - f.min + 1;
    const count = hi >= lo ? hi - lo : hi - lo + span; // wrapping range
    for (let i = 0; i <= count; i += step) out.add(((lo - f.min + i) % span) + f.min);
  }
  return out;
}

function domRule(expr: string, text: string): DayRule {
  if (text === '?') return { type: 'any' };
  const t = text.toUpperCase();
  if (t === 'L') return { type: 'last', offset: 0 };
  if (t === 'LW') return { type: 'lastWeekday' };
  const lastMinus = /^L-(\d{1,2})$/.exec(t);
  if (lastMinus) {
    const offset = Number(lastMinus[1]);
    if (offset > 30) bad(expr, 'Day-of-month: L-n needs n from 0 to 30');
    return { type: 'last', offset };
  }
  const w = /^(\d{1,2})W$/.exec(t);
  if (w) return { type: 'nearestWeekday', day: value(expr, F.dom, w[1]!) };
  if (/[LW#]/.test(t)) bad(expr, `Day-of-month: ${JSON.stringify(text)} (L, L-n, nW and LW stand alone)`);
  return { type: 'set', values: numbers(expr, F.dom, text) };
}

function dowRule(expr: string, text: string): DayRule {
  if (text === '?') return { type: 'any' };
  const t = text.toUpperCase();
  // Quartz: "L" alone in day-of-week means 7 (Saturday).
  if (t === 'L') return { type: 'set', values: new Set([7]) };
  const last = /^([A-Z]{3}|\d)L$/.exec(t);
  if (last) return { type: 'lastDow', dow: value(expr, F.dow, last[1]!) };
  const nth = /^([A-Z]{3}|\d)#(\d)$/.exec(t);
  if (nth) {
    const k = Number(nth[2]);
    if (k < 1 || k > 5) bad(expr, 'Day-of-week: n#k needs k from 1 to 5');
    return { type: 'nthDow', dow: value(expr, F.dow, nth[1]!), nth: k };
  }
  if (/[LW#]/.test(t)) bad(expr, `Day-of-week: ${JSON.stringify(text)} (nL and n#k stand alone)`);
  return { type: 'set', values: numbers(expr, F.dow, text) };
}

/** Parses the inside of `cron(...)` (or the whole `cron(...)` string). */
export function parseCron(input: string): CronExpression {
  const m = /^\s*cron\((.*)\)\s*$/i.exec(input);
  const body = (m ? m[1]! : input).trim();
  const expression = `cron(${body})`;
  const fields = body.split(/\s+/);
  if (fields.length !== 6) bad(expression, `6 fields are required (Minutes Hours Day-of-month Month Day-of-week Year), got ${fields.length}`);
  const [mi, h, dm, mo, dw, y] = fields as [string, string, string, string, string, string];
  if ((dm === '?') === (dw === '?')) bad(expression, 'exactly one of Day-of-month and Day-of-week must be ?');
  return {
    expression,
    minutes: [...numbers(expression, F.minute, mi)].sort((a, b) => a - b),
    hours: [...numbers(expression, F.hour, h)].sort((a, b) => a - b),
    months: numbers(expression, F.month, mo),
    years: numbers(expression, F.year, y),
    dom: domRule(expression, dm),
    dow: dowRule(expression, dw),
  };
}

const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate(); // m is 1-based
const weekday = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 1; // 1 = Sunday
const isWeekday = (dow: number) => dow >= 2 && dow <= 6;

/** Days of month m (1-based) of year y that the expression's day fields select, ascending. */
export function matchingDays(c: CronExpression, y: number, m: number): number[] {
  const n = daysIn(y, m);
  const rule = c.dom.type === 'any' ? c.dow : c.dom;
  const onDow = rule === c.dow;
  const days: number[] = [];
  switch (rule.type) {
    case 'any':
      for (let d = 1; d <= n; d++) days.push(d);
      break;
    case 'set':
      for (let d = 1; d <= n; d++) if (rule.values.has(onDow ? weekday(y, m, d) : d)) days.push(d);
      break;
    case 'last':
      if (n - rule.offset >= 1) days.push(n - rule.offset);
      break;
    case 'nearestWeekday': {
      // Quartz: the weekday nearest the given day, never crossing into another month; a day the
      // month does not have matches nothing.
      if (rule.day > n) break;
      const dw = weekday(y, m, rule.day);
      let d = rule.day;
      if (dw === 7) d = rule.day === 1 ? 3 : rule.day - 1; // Saturday -> Friday (or Monday the 3rd)
      else if (dw === 1) d = rule.day === n ? rule.day - 2 : rule.day + 1; // Sunday -> Monday (or Friday)
      days.push(d);
      break;
    }
    case 'lastWeekday': {
      let d = n;
      while (!isWeekday(weekday(y, m, d))) d--;
      days.push(d);
      break;
    }
    case 'lastDow': {
      let d = n;
      while (weekday(y, m, d) !== rule.dow) d--;
      days.push(d);
      break;
    }
    case 'nthDow': {
      const first = ((rule.dow - weekday(y, m, 1) + 7) % 7) + 1;
      const d = first + 7 * (rule.nth - 1);
      if (d <= n) days.push(d);
      break;
    }
  }
  return days;
}

/**
 * The first time strictly after `after` (minute precision, UTC) that the expression selects, or
 * null when there is none up to the end of year 2199. Walks years, then months, then matching days,
 * so the cost is bounded by calendar units, not minutes.
 */
export function cronNext(c: CronExpression, after: Date): Date | null {
  const t = new Date(Math.floor(after.getTime() / 60_000) * 60_000 + 60_000);
  const [ty, tm, td, th, tmin] = [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours(), t.getUTCMinutes()];
  for (let y = Math.max(ty, CRON_MIN_YEAR); y <= CRON_MAX_YEAR; y++) {
    if (!c.years.has(y)) continue;
    for (let m = y === ty ? tm : 1; m <= 12; m++) {
      if (!c.months.has(m)) continue;
      const firstMonth = y === ty && m === tm;
      for (const d of matchingDays(c, y, m)) {
        if (firstMonth && d < td) continue;
        const firstDay = firstMonth && d === td;
        for (const h of c.hours) {
          if (firstDay && h < th) continue;
          const firstHour = firstDay && h === th;
          for (const min of c.minutes) {
            if (firstHour && min < tmin) continue;
            return new Date(Date.UTC(y, m - 1, d, h, min));
          }
        }
      }
    }
  }
  return null;
}
