// Every use of a key (or a credential) in a time window, from the audit trail stored behind the
// barrier (src/audit/lookup.ts): the events naming the key or anything it protects, or made with an
// access key. Read-only.
import type { Barrier } from '../../storage/barrier.ts';
import { StoreSink } from '../../audit/sinks/store.ts';
import { lookupEvents } from '../../audit/lookup.ts';
import type { AuditEvent } from '../../audit/event.ts';
import type { UseRef, UsesRecord } from './model.ts';

/** Audit events one incident reads (50 pages of 1,000); beyond it the record says `truncated`. */
export const MAX_EVENTS = 50_000;
const INCIDENT_SOURCE = 'rekey.incident';

export interface UseMatch {
  /** ARNs whose events count (the key, and what it protects). */
  resources?: ReadonlySet<string>;
  /** Events signed with this access key count. */
  accessKeyId?: string;
}

function refOf(e: AuditEvent, resource: string): UseRef {
  const u = e.userIdentity as { arn?: string; principalId?: string; accessKeyId?: string; invokedBy?: string };
  return {
    eventID: e.eventID, eventTime: e.eventTime, eventSource: e.eventSource, eventName: e.eventName,
    // a service event made for another service (rekey as RDS using a volume key) names it in invokedBy
    principal: u.arn ?? (typeof e.additionalEventData?.['invokedBy'] === 'string' ? e.additionalEventData['invokedBy'] : undefined) ?? u.invokedBy ?? u.principalId ?? u.accessKeyId ?? 'unknown',
    ...(u.accessKeyId ? { accessKeyId: u.accessKeyId } : {}),
    sourceIPAddress: e.sourceIPAddress, resource, ...(e.errorCode ? { errorCode: e.errorCode } : {}),
  };
}

/** When every event of the window's last second has been recorded (audit times have whole seconds). */
export function windowFinal(to: string): number {
  return Math.floor(Date.parse(to) / 1000) * 1000 + 1000;
}

/** The matching events in [from, to], oldest first; the incident jobs' own events (rekey.incident) are not uses. */
export async function scanUses(barrier: Barrier, from: Date, to: Date, match: UseMatch): Promise<UsesRecord> {
  const store = new StoreSink(barrier);
  const events: UseRef[] = [];
  let read = 0;
  let token: string | undefined;
  do {
    const page = await lookupEvents(store, { startTime: from, endTime: to, maxResults: 1000, ...(token !== undefined ? { nextToken: token } : {}) });
    for (const r of page.events) {
      const e = r.event;
      if (e.eventSource === INCIDENT_SOURCE) continue;
      const named = (e.resources ?? []).find((x) => x.ARN && match.resources?.has(x.ARN))?.ARN
        // a refused call records no resources; its message names the one it was refused on
        ?? (e.errorCode && e.errorMessage ? [...(match.resources ?? [])].find((arn) => e.errorMessage!.includes(arn)) : undefined);
      const byKey = match.accessKeyId !== undefined && (e.userIdentity as { accessKeyId?: string }).accessKeyId === match.accessKeyId;
      if (named || byKey) events.push(refOf(e, named ?? e.resources?.[0]?.ARN ?? ''));
    }
    read += page.events.length;
    token = page.nextToken;
  } while (token !== undefined && read < MAX_EVENTS);
  // lookup pages newest first; the record reads as a timeline
  events.sort((a, b) => (a.eventTime < b.eventTime ? -1 : a.eventTime > b.eventTime ? 1 : a.eventID.localeCompare(b.eventID)));
  return { events, truncated: token !== undefined };
}
