// Time is injected everywhere in the job engine. Production uses the system clock; tests use a
// ManualClock and move it forward explicitly, so years of schedules run in milliseconds and no test
// sleeps waiting for a lease to expire or a retry to come due.

export interface Clock {
  now(): Date;
}

export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }
}

/** A clock that only moves when told to. Starts at `start` (default 2030-01-01T00:00:00Z). */
export class ManualClock implements Clock {
  private ms: number;

  constructor(start: Date | number | string = '2030-01-01T00:00:00.000Z') {
    this.ms = new Date(start).getTime();
    if (!Number.isFinite(this.ms)) throw new RangeError(`ManualClock: invalid start ${String(start)}`);
  }

  now(): Date {
    return new Date(this.ms);
  }

  set(to: Date | number | string): void {
    const ms = new Date(to).getTime();
    if (!Number.isFinite(ms)) throw new RangeError(`ManualClock: invalid time ${String(to)}`);
    this.ms = ms;
  }

  /** Moves forward by `ms` milliseconds (negative values are refused: time does not run backwards). */
  advance(ms: number): Date {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`ManualClock: cannot advance by ${ms}`);
    this.ms += ms;
    return this.now();
  }
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
