// The rules: a pure function of the facts (facts.ts), the settings and the time. Each finding names
// the resource (ARN), the rule, the clauses it supports and its evidence (audit event ids, dates,
// the offending policy statements). Evaluation changes nothing.
import type { KeyRecord } from '../kms/model.ts';
import { isExhausted } from '../kms/lifecycle/usage.ts';
import type { ComplianceFacts, EventRef, KeyFact, SecretFact } from './facts.ts';
import { analyzeKeyPolicy } from './policy-check.ts';
import type { ComplianceSettings } from './settings.ts';
import { RULES, type RuleId, type Standard } from './standards.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export interface Finding {
  ruleId: RuleId;
  title: string;
  severity: 'high' | 'medium' | 'low';
  /** The resource's ARN. */
  resource: string;
  message: string;
  clauses: Partial<Record<Standard, readonly string[]>>;
  evidence: Record<string, unknown>;
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** Event ids of the given names, newest first (evidence). */
function eventIds(events: readonly EventRef[], ...names: string[]): string[] {
  return events.filter((e) => names.includes(e.eventName) && e.errorCode === undefined).map((e) => e.eventID);
}

function finding(ruleId: RuleId, resource: string, message: string, evidence: Record<string, unknown>): Finding {
  const r = RULES[ruleId];
  return { ruleId, title: r.title, severity: r.severity, resource, message, clauses: r.clauses, evidence };
}

/** Rotation dates of a key: creation of each material version, oldest first. */
export function rotationDates(rec: KeyRecord): { materialId: string; createdAt: string; rotationType: string }[] {
  return rec.materials.map((m) => ({ materialId: m.id, createdAt: new Date(m.createdAt).toISOString(), rotationType: m.rotationType ?? 'ORIGINAL' }))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

function keyRules(k: KeyFact, s: ComplianceSettings, out: Finding[]): void {
  const rec = k.record;
  if (rec.keyManager === 'AWS') return; // service-managed keys rotate by themselves
  const arn = rec.arn;
  const rotations = rotationDates(rec);
  const lastRotation = rotations[rotations.length - 1]?.createdAt ?? null;
  if (rec.state === 'Enabled') {
    if (!rec.rotation.enabled) {
      out.push(finding('kms-rotation-disabled', arn, `Automatic rotation is off; the current material dates from ${lastRotation}.`,
        { rotationEnabled: false, lastRotation, rotations, auditEventIds: eventIds(k.events, 'DisableKeyRotation', 'CreateKey') }));
    } else if (rec.rotation.periodDays !== null && rec.rotation.periodDays > s.cryptoperiodDays) {
      out.push(finding('kms-rotation-period-exceeds-cryptoperiod', arn, `Rotation period ${rec.rotation.periodDays} days is above the cryptoperiod of ${s.cryptoperiodDays} days.`,
        { rotationPeriodInDays: rec.rotation.periodDays, cryptoperiodDays: s.cryptoperiodDays, nextRotationDate: iso(rec.rotation.nextRotationDate), lastRotation, auditEventIds: eventIds(k.events, 'EnableKeyRotation') }));
    }
    // Only the current material counts: an older version passed its budget by the bounded overshoot
    // before its rotation (src/kms/lifecycle/usage.ts) and no longer encrypts.
    const budget = rec.usageBudget;
    const used = k.usage[rec.currentMaterialId];
    if (budget && used && isExhausted(used, budget)) {
      out.push(finding('kms-usage-budget-exceeded', arn, `Material ${rec.currentMaterialId} has protected ${used.encryptions} encryptions / ${used.bytes} bytes, at or over its budget, and is still current.`,
        { materialId: rec.currentMaterialId, encryptions: used.encryptions, bytes: used.bytes, budget, materialCreatedAt: lastRotation }));
    }
  }
  if (rec.state === 'PendingDeletion' && (rec.dependentCount ?? 0) > 0) {
    out.push(finding('kms-pending-deletion-with-dependents', arn, `The key is scheduled for deletion on ${iso(rec.deletionDate)} and ${rec.dependentCount} rekey resource(s) still use it.`,
      { deletionDate: iso(rec.deletionDate), dependentCount: rec.dependentCount, dependents: k.dependents.map((d) => ({ type: d.type, arn: d.arn })), auditEventIds: eventIds(k.events, 'ScheduleKeyDeletion') }));
  }
  if (rec.state === 'PendingDeletion') return;
  const policyEvents = eventIds(k.events, 'PutKeyPolicy', 'CreateKey');
  for (const g of analyzeKeyPolicy(rec.policy)) {
    if (g.admin.length > 0 && g.use.length > 0) {
      out.push(finding('kms-policy-separation-of-duties', arn, `Principal ${g.principal} may both administer and use the key.`,
        { principal: g.principal, adminStatements: g.admin, useStatements: g.use, auditEventIds: policyEvents }));
    }
    if (g.adminWithoutMfa.length > 0) {
      out.push(finding('kms-admin-without-mfa', arn, `Principal ${g.principal} may administer the key without MFA (no aws:MultiFactorAuthPresent condition).`,
        { principal: g.principal, statements: g.adminWithoutMfa, auditEventIds: policyEvents }));
    }
  }
}

function secretRules(f: SecretFact, s: ComplianceSettings, now: number, out: Finding[]): void {
  const rec = f.record;
  const rot = rec.rotation;
  const evidence = {
    created: iso(rec.created), rotationEnabled: rot?.enabled === true, rules: rot?.rules ?? null,
    lastRotated: iso(rot?.lastRotated), nextRotation: iso(rot?.next), auditEventIds: eventIds(f.events, 'RotateSecret', 'CancelRotateSecret'),
  };
  const grace = s.secretRotationGraceHours * HOUR_MS;
  if (rot?.lastRotated === undefined) {
    // a schedule just set up whose first rotation is still ahead is not a finding yet
    const pendingFirst = rot?.enabled === true && rot.next !== undefined && rot.next + grace >= now;
    if (!pendingFirst) out.push(finding('secret-never-rotated', rec.arn, rot?.enabled ? 'The secret has a rotation schedule but has never been rotated.' : 'The secret has never been rotated and has no rotation schedule.', evidence));
    return;
  }
  if (!rot.enabled) {
    out.push(finding('secret-rotation-overdue', rec.arn, `Rotation is off; last rotated ${iso(rot.lastRotated)}.`, evidence));
  } else if (rot.next !== undefined && rot.next + grace < now) {
    out.push(finding('secret-rotation-overdue', rec.arn, `The rotation scheduled for ${iso(rot.next)} has not happened.`, evidence));
  }
}

export function evaluate(facts: ComplianceFacts, settings: ComplianceSettings, now: Date): Finding[] {
  const out: Finding[] = [];
  const t = now.getTime();
  for (const k of facts.keys) keyRules(k, settings, out);
  for (const sf of facts.secrets) secretRules(sf, settings, t, out);
  for (const i of facts.instances) {
    if (!i.storageEncrypted) out.push(finding('db-storage-not-encrypted', i.arn, `Instance ${i.id} stores its data unencrypted.`, { instance: i.id, storageEncrypted: false }));
    if (!i.masterUserSecretArn) out.push(finding('db-no-managed-master-secret', i.arn, `Instance ${i.id}'s master password is not kept in a managed, rotated secret (ManageMasterUserPassword).`, { instance: i.id, masterUserSecret: null }));
  }
  const apiArn = `arn:aws:rekey:${facts.region}:${facts.accountId}:api/endpoint`;
  if (!facts.api.tls) out.push(finding('api-without-tls', apiArn, `The API is served over plain HTTP (tls.mode "${facts.api.mode}").`, { tlsMode: facts.api.mode }));
  const v = facts.auditVerification;
  const maxAge = settings.auditVerifyMaxAgeHours * HOUR_MS;
  if (!v || !v.ok || t - Date.parse(v.at) > maxAge) {
    const message = !v ? 'The audit chain has never been verified (rekey audit verify).' : !v.ok ? `The last verification (${v.at}) failed with ${v.problems} problem(s).` : `The audit chain was last verified ${v.at}, more than ${settings.auditVerifyMaxAgeHours} hours ago.`;
    out.push(finding('audit-not-verified', `arn:aws:rekey:${facts.region}:${facts.accountId}:audit/trail`, message, { lastVerification: v, maxAgeHours: settings.auditVerifyMaxAgeHours }));
  }
  for (const c of facts.certificates) {
    const left = Date.parse(c.notAfter) - t;
    if (left < settings.certificateExpiryDays * DAY_MS) {
      out.push(finding('certificate-near-expiry', c.arn, left < 0 ? `The ${c.role} certificate expired on ${c.notAfter}.` : `The ${c.role} certificate expires on ${c.notAfter}, within ${settings.certificateExpiryDays} days.`,
        { serial: c.serial, notAfter: c.notAfter, daysLeft: Math.floor(left / DAY_MS), thresholdDays: settings.certificateExpiryDays }));
    }
  }
  return out;
}
