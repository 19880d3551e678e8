// What the rules look at: one read-only snapshot of rekey's state (ComplianceFacts), gathered from
// the store and from ports the server passes in (database instances, certificates, the API's TLS).
// Gathering writes nothing. The rules (rules.ts) are a pure function of these facts, so a test can
// seed a state without servers, and the server and the scheduled job run the same code.
import type { Barrier } from '../storage/barrier.ts';
import type { KeyRecord } from '../kms/model.ts';
import { KEY_PREFIX } from '../kms/keystore.ts';
import { usagePath, dependentsPrefix } from '../kms/lifecycle/paths.ts';
import type { UsageCounter } from '../kms/lifecycle/usage.ts';
import type { Dependent } from '../kms/lifecycle/hooks.ts';
import { SECRET_PREFIX, type SecretRecord } from '../secrets/model.ts';
import { StoreSink } from '../audit/sinks/store.ts';
import { lookupEvents } from '../audit/lookup.ts';
import { lastVerification, type VerificationRecord } from '../audit/verifications.ts';
import { listAllKeys } from '../storage/list-all.ts';

/** Audit events read for one report or evaluation (20 pages of 1,000); beyond it `eventsTruncated`. */
export const MAX_EVENTS = 20_000;

/** One audit event as evidence: enough to find it with `rekey audit lookup`. */
export interface EventRef {
  eventID: string;
  eventName: string;
  eventTime: string;
  principal: string;
  sourceIPAddress: string;
  errorCode?: string;
}

export interface KeyFact {
  record: KeyRecord;
  /** Usage counters per material id (only materials that have one). */
  usage: Record<string, UsageCounter>;
  dependents: Dependent[];
  /** Audit events naming the key in the window, newest first. */
  events: EventRef[];
}

export interface SecretFact {
  record: SecretRecord;
  events: EventRef[];
}

export interface InstanceFact {
  id: string;
  arn: string;
  storageEncrypted: boolean;
  kmsKeyId?: string;
  masterUserSecretArn?: string;
}

export interface CertFact {
  arn: string;
  role: 'server' | 'ca';
  serial: string;
  notAfter: string;
}

export interface ComplianceFacts {
  region: string;
  accountId: string;
  keys: KeyFact[];
  secrets: SecretFact[];
  instances: InstanceFact[];
  certificates: CertFact[];
  /** The API listener: TLS on, and the configured mode. */
  api: { tls: boolean; mode: string };
  /** The last `rekey audit verify` of the store (src/audit/verifications.ts), or null if none. */
  auditVerification: VerificationRecord | null;
  /** Window of the audit events read. */
  window: { from: string; to: string };
  eventsTruncated: boolean;
}

/** What the server passes in for what the store does not hold. */
export interface FactPorts {
  instances(): Promise<InstanceFact[]>;
  certificates(): Promise<CertFact[]>;
  api: { tls: boolean; mode: string };
}

export interface GatherOptions {
  barrier: Barrier;
  region: string;
  accountId: string;
  ports: FactPorts;
  from: Date;
  to: Date;
}

function refOf(e: { eventID: string; eventName: string; eventTime: string; userIdentity: { arn?: string; principalId?: string; accessKeyId?: string }; sourceIPAddress: string; errorCode?: string }): EventRef {
  return {
    eventID: e.eventID, eventName: e.eventName, eventTime: e.eventTime,
    principal: e.userIdentity.arn ?? e.userIdentity.principalId ?? e.userIdentity.accessKeyId ?? 'unknown',
    sourceIPAddress: e.sourceIPAddress, ...(e.errorCode ? { errorCode: e.errorCode } : {}),
  };
}

/** Audit events in [from, to], grouped by every resource ARN (and bare key id) they name. */
async function eventsByResource(barrier: Barrier, from: Date, to: Date): Promise<{ map: Map<string, EventRef[]>; truncated: boolean }> {
  const store = new StoreSink(barrier);
  const map = new Map<string, EventRef[]>();
  let read = 0;
  let token: string | undefined;
  do {
    const page = await lookupEvents(store, { startTime: from, endTime: to, maxResults: 1000, ...(token !== undefined ? { nextToken: token } : {}) });
    for (const r of page.events) {
      const ref = refOf(r.event);
      for (const res of r.event.resources ?? []) {
        const arn = res.ARN;
        if (!arn) continue;
        const list = map.get(arn) ?? [];
        list.push(ref);
        map.set(arn, list);
      }
    }
    read += page.events.length;
    token = page.nextToken;
  } while (token !== undefined && read < MAX_EVENTS);
  return { map, truncated: token !== undefined };
}


export async function gatherFacts(o: GatherOptions): Promise<ComplianceFacts> {
  const { barrier } = o;
  const events = await eventsByResource(barrier, o.from, o.to);
  const keys: KeyFact[] = [];
  for (const path of await listAllKeys(barrier, KEY_PREFIX)) {
    const got = await barrier.getJSON<KeyRecord>(path);
    if (!got) continue;
    const record = got.value;
    const usage: Record<string, UsageCounter> = {};
    if (record.usageBudget) {
      for (const m of record.materials) {
        const c = await barrier.getJSON<UsageCounter>(usagePath(record.keyId, m.id));
        if (c) usage[m.id] = c.value;
      }
    }
    const dependents: Dependent[] = [];
    if ((record.dependentCount ?? 0) > 0) {
      for (const p of await listAllKeys(barrier, dependentsPrefix(record.keyId))) {
        const d = await barrier.getJSON<Dependent>(p);
        if (d) dependents.push(d.value);
      }
    }
    // key material never leaves the store: the facts keep only its id, date and rotation type
    const safe: KeyRecord = { ...record, materials: record.materials.map((m) => ({ ...m, material: '' })) };
    keys.push({ record: safe, usage, dependents, events: events.map.get(record.arn) ?? [] });
  }
  const secrets: SecretFact[] = [];
  for (const path of await listAllKeys(barrier, SECRET_PREFIX)) {
    const got = await barrier.getJSON<SecretRecord>(path);
    if (got && got.value.deleted === undefined) secrets.push({ record: got.value, events: events.map.get(got.value.arn) ?? [] });
  }
  return {
    region: o.region, accountId: o.accountId, keys, secrets,
    instances: await o.ports.instances(), certificates: await o.ports.certificates(), api: o.ports.api,
    auditVerification: await lastVerification(barrier),
    window: { from: o.from.toISOString(), to: o.to.toISOString() }, eventsTruncated: events.truncated,
  };
}
