// Rotation schedules: RotationRules -> the next start and its window (AWS Secrets Manager,
// "Rotation schedules"), and the due indexes the job sources read.
//   AutomaticallyAfterDays N (1-1000), or ScheduleExpression rate(N hours|days) / cron(...);
//   Duration "Nh" (1-24): the rotation window. Without Duration, a window of one hour for an
//   hourly rate and until the end of the UTC day otherwise, as AWS.
import { InvalidParameterException } from '../../errors.ts';
import { parseSchedule } from '../../jobs/schedule.ts';
import { DAY, HOUR } from '../../jobs/clock.ts';
import { sortableTime } from '../../jobs/model.ts';
import type { Op } from '../../storage/backend.ts';
import { DELETION_DUE_PREFIX, ROTATION_DUE_PREFIX, type RotationRules, type SecretRecord } from '../model.ts';

export function checkRules(r: RotationRules): void {
  if (r.AutomaticallyAfterDays !== undefined && r.ScheduleExpression !== undefined) {
    throw new InvalidParameterException('You cannot specify both rotation frequency and schedule expression together.');
  }
  if (r.Duration !== undefined && !/^([1-9]|1[0-9]|2[0-4])h$/.test(r.Duration)) {
    throw new InvalidParameterException('The Duration must be between 1h and 24h, in hours.');
  }
  if (r.ScheduleExpression !== undefined) {
    const e = r.ScheduleExpression.trim();
    const rate = /^rate\(\s*(\d+)\s+(hours?|days?)\s*\)$/i.exec(e);
    if (/^rate\(/i.test(e)) {
      if (!rate) throw new InvalidParameterException('The schedule expression is not valid: use rate(N hours) or rate(N days).');
      const n = Number(rate[1]);
      const hours = /^hour/i.test(rate[2]!);
      if (hours ? n < 4 || n > 24 : n < 1 || n > 1000) throw new InvalidParameterException(hours ? 'A rate in hours must be between 4 and 24 hours.' : 'A rate in days must be between 1 and 1000 days.');
    }
    try {
      parseSchedule(e, new Date(0));
    } catch (err) {
      throw new InvalidParameterException(`The schedule expression is not valid: ${(err as Error).message}`);
    }
  }
}

/** The next scheduled start strictly after `from` (epoch ms), or undefined without rules. */
export function nextRotation(r: RotationRules | undefined, from: number): number | undefined {
  if (!r) return undefined;
  if (r.AutomaticallyAfterDays !== undefined) return from + r.AutomaticallyAfterDays * DAY;
  if (r.ScheduleExpression !== undefined) return parseSchedule(r.ScheduleExpression, new Date(from)).next(new Date(from))?.getTime();
  return undefined;
}

/** How long after its scheduled start a rotation may still begin. */
export function windowMs(r: RotationRules | undefined, start: number): number {
  if (r?.Duration) return Number(r.Duration.slice(0, -1)) * HOUR;
  if (r?.ScheduleExpression && /^rate\(\s*\d+\s+hours?/i.test(r.ScheduleExpression.trim())) return HOUR;
  const endOfDay = Math.floor(start / DAY) * DAY + DAY;
  return Math.max(HOUR, endOfDay - start);
}

function entries(rec: SecretRecord | null): string[] {
  if (!rec) return [];
  const out: string[] = [];
  const r = rec.rotation;
  if (r?.enabled && r.next !== undefined && rec.deleted === undefined) out.push(`${ROTATION_DUE_PREFIX}${sortableTime(r.next)}/${rec.name}`);
  if (rec.deletionDate !== undefined) out.push(`${DELETION_DUE_PREFIX}${sortableTime(rec.deletionDate)}/${rec.name}`);
  return out;
}

/** Storage ops moving a record's due-index entries from `before` to `after`. */
export function indexOps(before: SecretRecord | null, after: SecretRecord | null): Op[] {
  const old = new Set(entries(before));
  const now = new Set(entries(after));
  const ops: Op[] = [];
  for (const k of old) if (!now.has(k)) ops.push({ type: 'delete', key: k });
  for (const k of now) if (!old.has(k)) ops.push({ type: 'put', key: k, value: Buffer.from('{}') });
  return ops;
}
