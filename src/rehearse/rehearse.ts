// Rehearsal (`rekey rehearse --until <date>`, docs/OPERATIONS.md "Rehearsal"): the calendar of what
// rekey will do by itself between now and a date, projected from the stored state and never run.
// It reads through a barrier view that refuses every write, so nothing changes: no job is queued,
// no key material is made, no database password moves.
//
// What it projects, and how:
//   - KMS automatic rotations: from each Enabled key's NextRotationDate, every rotation period after;
//     none for a Disabled key or one pending deletion, none after the key's deletion date.
//   - Budget-driven rotations (usage budgets): the current material's usage divided by its age is
//     taken as a constant rate; the budget is used up at (1 - used) of one full budget period from
//     now, and again one full budget period after every rotation of the key (automatic or budget:
//     both start a new material with an empty count). A key with no use yet has no projection.
//   - KMS key deletions at their DeletionDate.
//   - Secrets Manager: scheduled rotations from each secret's next start, then by its rotation rules
//     (AutomaticallyAfterDays, rate(), cron()); deletions at the end of their recovery window.
//   - Certificates (generated TLS mode): the server certificate is replaced 2/3 into its life and
//     every 2/3 of the configured lifetime after; rekey's CA rotation starts 2/3 into the CA's life
//     (or two overlaps before it expires), phase 2 and 3 one overlap apart, then the new CA's life.
// Not projected (stated in the result): alarms, webhook rotation outcomes, MariaDB key versions,
// database snapshots and change-key (operator-started), and anything a job now running will do.
import { parseCertificate } from '../crypto/x509.ts';
import { DAY } from '../jobs/clock.ts';
import { caRenewAtOf, DEFAULT_CA_OVERLAP_MS } from '../certs/ca-rotation.ts';
import { CA_PATH, SERVER_PATH, renewAtOf, type CaRecord, type ServerCertRecord } from '../certs/model.ts';
import { KEY_PREFIX } from '../kms/keystore.ts';
import { usagePath } from '../kms/lifecycle/paths.ts';
import type { UsageCounter } from '../kms/lifecycle/usage.ts';
import { budgetFraction } from '../kms/lifecycle/upcoming.ts';
import type { KeyRecord } from '../kms/model.ts';
import { nextRotation } from '../secrets/rotation/schedule.ts';
import { SECRET_PREFIX, type SecretRecord } from '../secrets/model.ts';
import type { Barrier } from '../storage/barrier.ts';
import { eachKey } from '../storage/list-all.ts';

export type RehearsalKind =
  | 'kms.rotation' | 'kms.rotation.budget' | 'kms.deletion'
  | 'secret.rotation' | 'secret.deletion'
  | 'cert.server.renewal' | 'cert.ca.rotation.start' | 'cert.ca.rotation.phase2' | 'cert.ca.rotation.finish';

export interface RehearsalEvent {
  /** ISO 8601. */
  at: string;
  kind: RehearsalKind;
  /** Key ARN, secret name, or "server" / "ca". */
  subject: string;
  detail: string;
}

export interface Rehearsal {
  from: string;
  until: string;
  /** In date order; at most `limit`. */
  events: RehearsalEvent[];
  /** Events per kind over the whole window (also past `limit`). */
  counts: Partial<Record<RehearsalKind, number>>;
  truncated: boolean;
  notProjected: string[];
}

export interface RehearseOptions {
  now: Date;
  until: Date;
  /** Most events listed (counts cover all). Default 10,000. */
  limit?: number;
  /** tls.mode: certificates are projected only in generated mode. */
  tlsMode?: 'off' | 'generated' | 'files';
  certLifetimeSeconds?: number;
  caLifetimeSeconds?: number;
  caOverlapMs?: number;
}

/** What a rehearsal reads: `list` and `getJSON` only (see readOnly). */
export type RehearsalStore = Pick<Barrier, 'list' | 'getJSON'>;

/** A view of the barrier whose writes throw: rehearsal changes nothing, by construction. */
export function readOnly(barrier: Barrier): RehearsalStore & Pick<Barrier, 'put' | 'putJSON' | 'delete' | 'transaction'> {
  const refuse = async (): Promise<never> => {
    throw new Error('rehearsal is read-only: a write was attempted');
  };
  return { list: barrier.list.bind(barrier), getJSON: barrier.getJSON.bind(barrier), put: refuse, putJSON: refuse, delete: refuse, transaction: refuse };
}

const NOT_PROJECTED = [
  'alarms (rekey has none that a rehearsal could evaluate yet)',
  'outcomes of rotations: a rotation is shown when it is due, not whether its Lambda, webhook or database accepts it',
  'MariaDB key versions served by keyserve (they follow the KMS key rotations shown)',
  'operator-started work: on-demand rotations, snapshots, change-key, CA rotations started by hand',
  'jobs already queued or running now',
];


export async function rehearse(store: RehearsalStore, o: RehearseOptions): Promise<Rehearsal> {
  const now = o.now.getTime();
  const until = o.until.getTime();
  if (!(until > now)) throw new RangeError('--until must be after now');
  const out: RehearsalEvent[] = [];
  const emit = (at: number, kind: RehearsalKind, subject: string, detail: string) => {
    out.push({ at: new Date(Math.max(at, now)).toISOString(), kind, subject, detail: at < now ? `${detail} (overdue: runs at once)` : detail });
  };

  let capped = false;
  for await (const k of eachKey(store, KEY_PREFIX)) {
    const rec = (await store.getJSON<KeyRecord>(k))?.value;
    if (!rec) continue;
    if (!(await keyEvents(store, rec, now, until, emit))) capped = true;
  }
  for await (const k of eachKey(store, SECRET_PREFIX)) {
    const rec = (await store.getJSON<SecretRecord>(k))?.value;
    if (rec) secretEvents(rec, now, until, emit);
  }
  if (o.tlsMode === 'generated') await certEvents(store, o, now, until, emit);

  out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
  const counts: Partial<Record<RehearsalKind, number>> = {};
  for (const e of out) counts[e.kind] = (counts[e.kind] ?? 0) + 1;
  const limit = o.limit ?? 10_000;
  return { from: o.now.toISOString(), until: o.until.toISOString(), events: out.slice(0, limit), counts, truncated: capped || out.length > limit, notProjected: NOT_PROJECTED };
}

type Emit = (at: number, kind: RehearsalKind, subject: string, detail: string) => void;

/** A key's events; false when it hit PER_KEY_CAP (a budget used up every few seconds at the observed rate). */
async function keyEvents(store: RehearsalStore, rec: KeyRecord, now: number, until: number, emit: Emit): Promise<boolean> {
  const subject = rec.arn;
  const deletion = rec.state === 'PendingDeletion' && rec.deletionDate !== null ? rec.deletionDate : null;
  if (deletion !== null && deletion <= until) emit(deletion, 'kms.deletion', subject, `key deleted (scheduled ${new Date(deletion).toISOString()})`);
  if (rec.state !== 'Enabled') return true; // Disabled and PendingDeletion keys are not rotated automatically
  const period = rec.rotation.enabled && rec.rotation.periodDays ? rec.rotation.periodDays * DAY : null;
  let scheduled = period !== null && rec.rotation.nextRotationDate !== null ? rec.rotation.nextRotationDate : Infinity;

  // the budget: the current material's observed rate, assumed constant
  let budgetAt = Infinity;
  let full = Infinity;
  if (rec.usageBudget) {
    const material = rec.materials.find((m) => m.id === rec.currentMaterialId);
    const usage = (await store.getJSON<UsageCounter>(usagePath(rec.keyId, rec.currentMaterialId)))?.value;
    const used = usage ? budgetFraction(usage, rec.usageBudget) : 0;
    const age = material ? now - material.createdAt : 0;
    if (used > 0 && age > 0) {
      full = age / used; // one whole budget at the observed rate
      budgetAt = now + Math.max(0, 1 - used) * full;
    }
  }
  for (let n = 0; ; n++) {
    const at = Math.min(scheduled, budgetAt);
    if (!(at <= until)) return true;
    if (n >= PER_KEY_CAP) return false;
    if (at === scheduled) {
      emit(at, 'kms.rotation', subject, `automatic rotation (every ${rec.rotation.periodDays} days)`);
      scheduled += period!;
    } else {
      emit(at, 'kms.rotation.budget', subject, `usage budget used up (${budgetLabel(rec)}) at the observed rate`);
    }
    if (full !== Infinity) budgetAt = at + full; // every rotation starts a new material with an empty count
  }
}

const PER_KEY_CAP = 100_000;

const budgetLabel = (rec: KeyRecord): string =>
  [rec.usageBudget?.maxEncryptions ? `${rec.usageBudget.maxEncryptions} encryptions` : '', rec.usageBudget?.maxBytes ? `${rec.usageBudget.maxBytes} bytes` : ''].filter(Boolean).join(' or ');

function secretEvents(rec: SecretRecord, now: number, until: number, emit: Emit): void {
  if (rec.deletionDate !== undefined) {
    if (rec.deletionDate <= until) emit(rec.deletionDate, 'secret.deletion', rec.name, 'recovery window ends: the secret is deleted');
    return; // a secret scheduled for deletion is not rotated
  }
  const r = rec.rotation;
  if (!r?.enabled || r.next === undefined) return;
  const rule = r.rules?.AutomaticallyAfterDays !== undefined ? `every ${r.rules.AutomaticallyAfterDays} days` : r.rules?.ScheduleExpression ?? 'scheduled';
  let at: number | undefined = r.next;
  for (let n = 0; at !== undefined && at <= until && n < 100_000; n++) {
    emit(at, 'secret.rotation', rec.name, `scheduled rotation (${rule})`);
    const next = nextRotation(r.rules, Math.max(at, now));
    at = next !== undefined && next > at ? next : undefined;
  }
}

async function certEvents(store: RehearsalStore, o: RehearseOptions, now: number, until: number, emit: Emit): Promise<void> {
  const server = (await store.getJSON<ServerCertRecord>(SERVER_PATH))?.value;
  if (server) {
    const info = parseCertificate(server.certPem);
    const lifetime = (o.certLifetimeSeconds ?? Math.round((info.notAfter.getTime() - info.notBefore.getTime()) / 1000)) * 1000;
    let at = renewAtOf(info).getTime();
    for (let n = 0; at <= until && n < 100_000; n++) {
      emit(at, 'cert.server.renewal', 'server', `server certificate replaced (2/3 into its ${Math.round(lifetime / DAY)}-day life)`);
      at = Math.max(at, now) + Math.floor((lifetime * 2) / 3);
    }
  }
  const ca = (await store.getJSON<CaRecord>(CA_PATH))?.value;
  if (ca) {
    const overlap = o.caOverlapMs ?? DEFAULT_CA_OVERLAP_MS;
    const info = parseCertificate(ca.certPem);
    const lifetime = (o.caLifetimeSeconds ?? Math.round((info.notAfter.getTime() - info.notBefore.getTime()) / 1000)) * 1000;
    let start = ca.rotation ? Date.parse(ca.rotation.phaseStartedAt) - (ca.rotation.phase === 2 ? overlap : 0) : caRenewAtOf(info, overlap).getTime();
    for (let n = 0; start <= until && n < 10_000; n++) {
      if (!(ca.rotation && n === 0)) emit(start, 'cert.ca.rotation.start', 'ca', 'CA rotation phase 1: the new CA is trusted beside the old one');
      if (!(ca.rotation?.phase === 2 && n === 0) && start + overlap <= until) emit(start + overlap, 'cert.ca.rotation.phase2', 'ca', 'CA rotation phase 2: certificates are issued by the new CA');
      if (start + 2 * overlap <= until) emit(start + 2 * overlap, 'cert.ca.rotation.finish', 'ca', 'CA rotation phase 3: the old CA is no longer trusted');
      // the new CA's life begins at phase 1; its own rotation starts as the first one did
      const born = Math.max(start, now);
      start = caRenewAtOf({ notBefore: new Date(born), notAfter: new Date(born + lifetime) }, overlap).getTime();
    }
  }
}
