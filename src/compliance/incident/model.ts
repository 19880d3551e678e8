// Incident response records (docs/INCIDENTS.md). An incident is one durable job (src/jobs) of kind
// incident.compromised-key or incident.compromised-credentials; its id is the job's id. Besides the
// job (which carries the small step-to-step state), the store holds, behind the barrier:
//
//   incidents/<id>            IncidentRecord: what was reported, by whom, when, the window
//   incidents/<id>/uses       UsesRecord: every audit event that used the key (or credential) in the window
//   incidents/<id>/report     the signed IncidentReport (report.ts), written by the last step
//
// Each is written by the step that makes it, in the same transaction as that step's result (ops),
// so a SIGKILL leaves either the step done with its record or neither.

export const INCIDENTS_PREFIX = 'incidents/';
export const incidentPath = (id: string): string => `${INCIDENTS_PREFIX}${id}`;
export const usesPath = (id: string): string => `${INCIDENTS_PREFIX}${id}/uses`;
export const reportPath = (id: string): string => `${INCIDENTS_PREFIX}${id}/report`;

export const KIND_COMPROMISED_KEY = 'incident.compromised-key';
export const KIND_COMPROMISED_CREDENTIALS = 'incident.compromised-credentials';

export interface IncidentRecord {
  v: 1;
  id: string;
  kind: typeof KIND_COMPROMISED_KEY | typeof KIND_COMPROMISED_CREDENTIALS;
  /** The key ARN, secret ARN or access key id the incident is about. */
  target: string;
  /** Who reported it (the admin caller's ARN). */
  reportedBy: string;
  openedAt: string;
  window: { from: string; to: string };
}

/** One thing rekey holds that a key protects, and the key material versions its ciphertext(s) use. */
export interface Holding {
  type: 'secret-version' | 'db-instance' | 'db-snapshot' | 'keyserve-keyring';
  /** The resource's ARN (a secret version: the secret's ARN). */
  arn: string;
  /** The instance, snapshot or keyring name; a secret version: "<secret name>:<version id>". */
  id: string;
  /** Material ids of every ciphertext this holding keeps under the key (a secret value may keep older ones). */
  materialIds: string[];
  note?: string;
}

/** One use of the key (or credential) as the audit trail recorded it. */
export interface UseRef {
  eventID: string;
  eventTime: string;
  eventSource: string;
  eventName: string;
  principal: string;
  accessKeyId?: string;
  sourceIPAddress: string;
  /** The resource the event named (the key, or a secret / instance / snapshot under it). */
  resource: string;
  errorCode?: string;
}

export interface PrincipalUse {
  principal: string;
  operations: Record<string, number>;
  sourceIPAddresses: string[];
  accessKeyIds: string[];
  /** Calls refused (AccessDenied and other errors) among them. */
  refused: number;
  firstUsed: string;
  lastUsed: string;
  /** Why this principal's use is outside policy, or absent when it is not. */
  outsidePolicy?: string;
}

export interface UsesRecord {
  events: UseRef[];
  /** The audit trail had more events in the window than one incident reads (MAX_EVENTS). */
  truncated: boolean;
}

/** Aggregates uses by principal (sorted by principal). `allowed`: principals expected to use it (empty: no list given). */
export function byPrincipal(events: readonly UseRef[], allowed: readonly string[]): PrincipalUse[] {
  const by = new Map<string, PrincipalUse>();
  for (const e of events) {
    const u = by.get(e.principal) ?? { principal: e.principal, operations: {}, sourceIPAddresses: [], accessKeyIds: [], refused: 0, firstUsed: e.eventTime, lastUsed: e.eventTime };
    u.operations[e.eventName] = (u.operations[e.eventName] ?? 0) + 1;
    if (!u.sourceIPAddresses.includes(e.sourceIPAddress)) u.sourceIPAddresses.push(e.sourceIPAddress);
    if (e.accessKeyId && !u.accessKeyIds.includes(e.accessKeyId)) u.accessKeyIds.push(e.accessKeyId);
    if (e.errorCode) u.refused++;
    if (e.eventTime < u.firstUsed) u.firstUsed = e.eventTime;
    if (e.eventTime > u.lastUsed) u.lastUsed = e.eventTime;
    by.set(e.principal, u);
  }
  const out = [...by.values()].sort((a, b) => a.principal.localeCompare(b.principal));
  for (const u of out) {
    if (isServicePrincipal(u.principal)) continue; // rekey acting as RDS / a service: never "outside policy"
    const why: string[] = [];
    if (u.refused > 0) why.push(`${u.refused} call(s) refused (not allowed by the key policy, grants or identity policies)`);
    if (allowed.length > 0 && !allowed.includes(u.principal)) why.push('not among the principals expected to use the key');
    if (why.length > 0) u.outsidePolicy = why.join('; ');
  }
  return out;
}

/** AWS service principals and rekey's own components (rds.<region>.amazonaws.com, rekey.*). */
export function isServicePrincipal(p: string): boolean {
  return /\.amazonaws\.com$/.test(p) || p.startsWith('rekey.') || p.startsWith('AWSService:');
}
