// Secret rotations and deletions due before a date (`rekey jobs ls --upcoming`), read from the
// secrets' due indexes (src/secrets/model.ts: secrets/rot/<ISO>/<name>, secrets/del/<ISO>/<name>).
import { ISO_LENGTH, sortableTime } from '../jobs/model.ts';
import type { Barrier } from '../storage/barrier.ts';
import { DELETION_DUE_PREFIX, ROTATION_DUE_PREFIX } from './model.ts';

export interface UpcomingSecretEvent {
  name: string;
  /** ISO 8601: the next scheduled rotation, or the end of the recovery window. */
  at: string;
}

export async function upcomingSecretWork(barrier: Pick<Barrier, 'list'>, o: { until: Date; limit: number }): Promise<{ rotations: UpcomingSecretEvent[]; deletions: UpcomingSecretEvent[]; truncated: boolean }> {
  const bound = sortableTime(o.until.getTime());
  let truncated = false;
  const read = async (prefix: string): Promise<UpcomingSecretEvent[]> => {
    const out: UpcomingSecretEvent[] = [];
    let after: string | undefined;
    for (;;) {
      const keys = await barrier.list(prefix, { ...(after !== undefined ? { after } : {}), limit: 200 });
      for (const k of keys) {
        const rest = k.slice(prefix.length);
        const at = rest.slice(0, ISO_LENGTH);
        if (rest[ISO_LENGTH] !== '/') continue;
        if (at > bound) return out;
        if (out.length >= o.limit) {
          truncated = true;
          return out;
        }
        out.push({ name: rest.slice(ISO_LENGTH + 1), at });
      }
      if (keys.length < 200) return out;
      after = keys[keys.length - 1]!;
    }
  };
  return { rotations: await read(ROTATION_DUE_PREFIX), deletions: await read(DELETION_DUE_PREFIX), truncated };
}
