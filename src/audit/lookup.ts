// Queries over the store sink, with the filters of CloudTrail's LookupEvents: event name,
// principal, resource, time range; newest first; paginated with an opaque token.
//
// The time index has one entry per stored batch, keyed by the batch's oldest event time, newest
// first; within a batch events come newest seq first. Results are therefore newest first to within
// one batch (a few milliseconds of appends). The other filters are applied to the decrypted events
// (their values are not in storage keys, which storage can read). One call examines at most
// SCAN_LIMIT events, so a rare filter over a large trail returns fewer results plus a nextToken,
// as LookupEvents does, instead of one unbounded scan.
import { ValidationException } from '../errors.ts';
import type { AuditRecord } from './chain.ts';
import { INDEX_PREFIX, eventPath, invertedMs, parseIndexPath } from './paths.ts';
import type { StoreSink } from './sinks/store.ts';

export interface LookupQuery {
  eventName?: string;
  /** An ARN, access key id or principal id. */
  principal?: string;
  /** A key or secret ARN, or a bare key id. */
  resource?: string;
  startTime?: Date;
  endTime?: Date;
  /** 1..1000, default 50. */
  maxResults?: number;
  nextToken?: string;
}

export interface LookupResult {
  events: AuditRecord[];
  nextToken?: string;
}

export const DEFAULT_MAX_RESULTS = 50;
export const MAX_RESULTS = 1000;
const SCAN_LIMIT = 5000;
const PAGE = 64;
/**
 * An event is appended at most this long after its eventTime (request timeouts are far shorter),
 * so a batch whose oldest event is older than startTime - SPREAD cannot hold a match, nor can any
 * batch after it.
 */
const SPREAD_MS = 10 * 60_000;

interface Cursor {
  /** The index key of the batch being read. */
  key: string;
  /** Continue with events of that batch below this seq. */
  below: number;
}

function encodeToken(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.key, c.below]), 'utf8').toString('base64url');
}

function decodeToken(token: string): Cursor {
  try {
    if (!/^[A-Za-z0-9_-]{1,400}$/.test(token)) throw new Error();
    const v: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'string' && parseIndexPath(v[0]) && Number.isSafeInteger(v[1])) return { key: v[0], below: v[1] as number };
  } catch {
    // fall through
  }
  throw new ValidationException('The nextToken is not valid.');
}

export function matches(r: AuditRecord, q: LookupQuery): boolean {
  const e = r.event;
  if (q.eventName !== undefined && e.eventName !== q.eventName) return false;
  if (q.principal !== undefined) {
    const id = e.userIdentity;
    if (id.arn !== q.principal && id.accessKeyId !== q.principal && id.principalId !== q.principal) return false;
  }
  if (q.resource !== undefined) {
    const x = q.resource;
    const p = e.requestParameters ?? {};
    const hit = e.resources.some((res) => res.ARN === x || res.ARN.endsWith('/' + x)) || p.keyId === x || p.secretId === x;
    if (!hit) return false;
  }
  return true;
}

export function checkLookupQuery(q: LookupQuery): void {
  const n = q.maxResults;
  if (n !== undefined && !(Number.isSafeInteger(n) && n >= 1 && n <= MAX_RESULTS)) {
    throw new ValidationException(`maxResults must be an integer from 1 to ${MAX_RESULTS}.`);
  }
  for (const [name, d] of [['startTime', q.startTime], ['endTime', q.endTime]] as const) {
    if (d !== undefined && Number.isNaN(d.getTime())) throw new ValidationException(`${name} is not a valid time.`);
  }
  if (q.startTime && q.endTime && q.startTime > q.endTime) throw new ValidationException('startTime must not be after endTime.');
}

export async function lookupEvents(store: StoreSink, q: LookupQuery): Promise<LookupResult> {
  checkLookupQuery(q);
  const max = q.maxResults ?? DEFAULT_MAX_RESULTS;
  const startMs = q.startTime?.getTime();
  const endMs = q.endTime?.getTime();
  const events: AuditRecord[] = [];
  let scanned = 0;

  /** Reads one batch newest-first; returns a cursor when the page is full. */
  const readBatch = async (key: string, below: number): Promise<Cursor | null> => {
    const ix = parseIndexPath(key)!;
    const records = (await store.readKey(eventPath(ix.node, ix.seq))) ?? [];
    for (let i = records.length - 1; i >= 0; i--) {
      const r = records[i];
      if (!r || r.seq >= below || r.node !== ix.node) continue;
      scanned++;
      const t = Date.parse(r.event.eventTime);
      const inRange = (startMs === undefined || t >= startMs) && (endMs === undefined || t <= endMs);
      if (inRange && matches(r, q)) events.push(r);
      if (events.length >= max || scanned >= SCAN_LIMIT) return { key, below: r.seq };
    }
    return null;
  };

  let after: string | undefined;
  if (q.nextToken !== undefined) {
    const c = decodeToken(q.nextToken);
    const stop = await readBatch(c.key, c.below);
    if (stop) return { events, nextToken: encodeToken(stop) };
    after = c.key;
  } else if (endMs !== undefined) {
    // batches whose oldest event is newer than endTime hold nothing in range
    after = `${INDEX_PREFIX}${invertedMs(endMs + 1)}/~`;
  }
  for (;;) {
    const keys = await store.barrier.list(INDEX_PREFIX, { ...(after !== undefined ? { after } : {}), limit: PAGE });
    if (keys.length === 0) return { events };
    for (const key of keys) {
      const ix = parseIndexPath(key);
      if (!ix) continue;
      if (startMs !== undefined && ix.ms < startMs - SPREAD_MS) return { events };
      const stop = await readBatch(key, Number.MAX_SAFE_INTEGER);
      if (stop) return { events, nextToken: encodeToken(stop) };
    }
    after = keys[keys.length - 1];
  }
}
