// Requests refused before any route or protocol ran (body over the limit, bad URL, over-long path
// parameter, no such route, malformed HTTP, headers too large, too slow): each is recorded in the
// audit trail, at a bounded cost (docs/AUDIT.md, "Refused before routing").
//
// Garbage costs the sender nothing, so recording it must not cost the server without bound:
//   - the first `perSecond` refusals of each second (default 20, per node) get one event each:
//     eventSource "rekey.http", eventName "RefusedRequest", the error, method and path (no query
//     string: it may carry a presigned signature), source address and user agent;
//   - every later refusal of that second is counted, by error code, into one "RefusedRequests"
//     event written when the second ends: additionalEventData { refusedCount, distinctSourceIps
//     (counted up to 100), windowStart }, the source address of the first one counted.
// So a flood adds at most perSecond + (one per error code) events per second, and every refused
// request is either an event or counted in one. The response never waits for the audit write (the
// request had no effect); a failed write goes to the server log.
import { randomUUID } from '../crypto/index.ts';
import type { RekeyError } from '../errors.ts';
import { adminEvent, type Appender } from '../audit/index.ts';

export interface Refusal {
  requestId: string;
  sourceIp: string;
  userAgent: string;
  /** Unknown for malformed HTTP. */
  method?: string;
  /** The URL's path (the query string is dropped here). */
  url?: string;
  error: RekeyError;
}

export interface RefusedOptions {
  region: string;
  /** Individual events per second (default 20); the rest are counted into summaries. */
  perSecond?: number;
  clock?: () => number;
  log(err: unknown): void;
}

const MAX_SOURCES = 100;
const ALLOW = ['method', 'path'] as const;

interface Tally {
  error: RekeyError;
  count: number;
  firstIp: string;
  sources: Set<string>;
}

export class RefusedRequests {
  private window = -1;
  private recorded = 0;
  private readonly tallies = new Map<string, Tally>();
  private timer: NodeJS.Timeout | null = null;
  private readonly perSecond: number;
  private readonly clock: () => number;

  constructor(private readonly audit: Appender, private readonly o: RefusedOptions) {
    this.perSecond = o.perSecond ?? 20;
    this.clock = o.clock ?? Date.now;
  }

  /** Records one refusal (an event, or a count in this second's summary). Never throws, never waits. */
  record(r: Refusal): void {
    const now = this.clock();
    const window = Math.floor(now / 1000);
    if (window !== this.window) {
      this.flush();
      this.window = window;
      this.recorded = 0;
    }
    if (this.recorded < this.perSecond) {
      this.recorded++;
      const input = { ...(r.method ? { method: r.method.slice(0, 16) } : {}), ...(r.url ? { path: r.url.split('?')[0]!.slice(0, 256) } : {}) };
      this.append(adminEvent({
        action: 'RefusedRequest', eventSource: 'rekey.http', input, allow: ALLOW, caller: null, readOnly: true,
        requestId: r.requestId, sourceIp: r.sourceIp, userAgent: r.userAgent, region: this.o.region, now: new Date(now), error: r.error,
      }));
      return;
    }
    let t = this.tallies.get(r.error.code);
    if (!t) this.tallies.set(r.error.code, (t = { error: r.error, count: 0, firstIp: r.sourceIp, sources: new Set() }));
    t.count++;
    if (t.sources.size < MAX_SOURCES) t.sources.add(r.sourceIp);
    this.timer ??= setTimeout(() => this.flush(), (window + 1) * 1000 - now).unref();
  }

  /** Writes the summaries of the current second (also at close). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const windowStart = new Date(this.window * 1000).toISOString();
    for (const t of this.tallies.values()) {
      const ev = adminEvent({
        action: 'RefusedRequests', eventSource: 'rekey.http', caller: null, readOnly: true, requestId: randomUUID(),
        sourceIp: t.firstIp, userAgent: '', region: this.o.region, now: new Date(this.clock()), error: t.error,
      });
      ev.additionalEventData = { refusedCount: t.count, distinctSourceIps: t.sources.size, windowStart };
      this.append(ev);
    }
    this.tallies.clear();
  }

  private append(ev: Parameters<Appender['append']>[0]): void {
    this.audit.append(ev).catch((err: unknown) => this.o.log(err));
  }
}
