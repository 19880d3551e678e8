// The compliance report: summary, findings and, per key, its rotation history and who used it,
// signed with the audit signing key (src/audit/digest.ts, the key `rekey audit public-key` exports)
// so it can be checked later, offline, with the public key alone (verifyReport).
//
//   signature.value = Ed25519( "rekey-compliance-report-v1\n" + canonical JSON of the report without `signature` )
//
// Any change to a signed report (a finding removed, a date edited, a field added) makes the check fail.
import { canonicalJson } from '../audit/canonical.ts';
import { type AuditPublicKey, checkPayloadSignature } from '../audit/digest.ts';
import type { ComplianceFacts, EventRef } from './facts.ts';
import { type Finding, evaluate, rotationDates } from './rules.ts';
import type { ComplianceSettings } from './settings.ts';
import { RULES, rulesOf, type RuleId, type Standard } from './standards.ts';

const DOMAIN = 'rekey-compliance-report-v1\n';
const ROTATION_EVENTS = ['RotateKeyOnDemand', 'RotateKey', 'EnableKeyRotation', 'DisableKeyRotation', 'CreateKey'];

export interface KeyUsage {
  principal: string;
  operations: Record<string, number>;
  sourceIPAddresses: string[];
  lastUsed: string;
}

export interface KeySection {
  arn: string;
  keyId: string;
  state: string;
  keyManager: string;
  rotation: { enabled: boolean; periodDays: number | null; nextRotationDate: string | null };
  /** Each material version, oldest first: the rotation history. */
  rotations: { materialId: string; createdAt: string; rotationType: string }[];
  /** Audit events that changed rotation (newest first). */
  rotationEvents: EventRef[];
  /** Who used the key in the window, by principal. */
  usage: KeyUsage[];
}

export interface ComplianceReport {
  format: 'rekey-compliance-report';
  version: 1;
  standard: Standard;
  generatedAt: string;
  window: { from: string; to: string };
  region: string;
  accountId: string;
  settings: ComplianceSettings;
  summary: {
    compliant: boolean;
    findings: number;
    bySeverity: Record<string, number>;
    byRule: Record<string, number>;
    resources: { keys: number; secrets: number; instances: number; certificates: number };
    /** The audit events read stopped at the cap (facts.ts MAX_EVENTS): usage lists may be partial. */
    eventsTruncated: boolean;
  };
  rules: { id: RuleId; title: string; severity: string; clauses: readonly string[] }[];
  findings: (Omit<Finding, 'clauses'> & { clauses: readonly string[] })[];
  keys: KeySection[];
  signature?: { algorithm: 'Ed25519'; publicKeyFingerprint: string; value: string };
}

export interface ReportSigner {
  publicKey: AuditPublicKey;
  signPayload(payload: string): string;
}

const USE_EVENTS = new Set(['Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair', 'CreateGrant']);

function usageOf(events: readonly EventRef[]): KeyUsage[] {
  const by = new Map<string, KeyUsage>();
  for (const e of events) {
    if (!USE_EVENTS.has(e.eventName)) continue;
    const u = by.get(e.principal) ?? { principal: e.principal, operations: {}, sourceIPAddresses: [], lastUsed: e.eventTime };
    u.operations[e.eventName] = (u.operations[e.eventName] ?? 0) + 1;
    if (!u.sourceIPAddresses.includes(e.sourceIPAddress)) u.sourceIPAddresses.push(e.sourceIPAddress);
    if (e.eventTime > u.lastUsed) u.lastUsed = e.eventTime;
    by.set(e.principal, u);
  }
  return [...by.values()].sort((a, b) => a.principal.localeCompare(b.principal));
}

/** Evaluates the rules of `standard` over `facts` and builds the (unsigned) report. */
export function buildReport(facts: ComplianceFacts, standard: Standard, settings: ComplianceSettings, now: Date): ComplianceReport {
  const covered = new Set(rulesOf(standard));
  const findings = evaluate(facts, settings, now).filter((f) => covered.has(f.ruleId)).map((f) => ({ ...f, clauses: f.clauses[standard] ?? [] }));
  const count = (key: (f: (typeof findings)[number]) => string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const f of findings) out[key(f)] = (out[key(f)] ?? 0) + 1;
    return out;
  };
  const report: ComplianceReport = {
    format: 'rekey-compliance-report', version: 1, standard, generatedAt: now.toISOString(), window: facts.window,
    region: facts.region, accountId: facts.accountId, settings,
    summary: {
      compliant: findings.length === 0, findings: findings.length, bySeverity: count((f) => f.severity), byRule: count((f) => f.ruleId),
      resources: { keys: facts.keys.length, secrets: facts.secrets.length, instances: facts.instances.length, certificates: facts.certificates.length },
      eventsTruncated: facts.eventsTruncated,
    },
    rules: [...covered].map((id) => ({ id, title: RULES[id].title, severity: RULES[id].severity, clauses: RULES[id].clauses[standard] ?? [] })),
    findings,
    keys: facts.keys.map((k) => ({
      arn: k.record.arn, keyId: k.record.keyId, state: k.record.state, keyManager: k.record.keyManager ?? 'CUSTOMER',
      rotation: { enabled: k.record.rotation.enabled, periodDays: k.record.rotation.periodDays, nextRotationDate: k.record.rotation.nextRotationDate === null ? null : new Date(k.record.rotation.nextRotationDate).toISOString() },
      rotations: rotationDates(k.record),
      rotationEvents: k.events.filter((e) => ROTATION_EVENTS.includes(e.eventName)),
      usage: usageOf(k.events),
    })),
  };
  // plain JSON only (no undefined members), so what is signed is what a reader parses
  return JSON.parse(JSON.stringify(report)) as ComplianceReport;
}

export function reportPayload(report: ComplianceReport): string {
  const { signature: _omit, ...body } = report;
  return DOMAIN + canonicalJson(body);
}

export function signReport(report: ComplianceReport, signer: ReportSigner): ComplianceReport {
  const { signature: _omit, ...body } = report;
  const unsigned = body as ComplianceReport;
  return { ...unsigned, signature: { algorithm: 'Ed25519', publicKeyFingerprint: signer.publicKey.fingerprint, value: signer.signPayload(reportPayload(unsigned)) } };
}

export type ReportCheck = 'ok' | 'unsigned' | 'malformed' | 'wrong-key' | 'bad-signature';

/** Checks a parsed report against a trusted public key. */
export function verifyReport(report: unknown, key: AuditPublicKey): ReportCheck {
  if (typeof report !== 'object' || report === null || Array.isArray(report)) return 'malformed';
  const r = report as Partial<ComplianceReport>;
  if (r.format !== 'rekey-compliance-report' || r.version !== 1) return 'malformed';
  const sig = r.signature;
  if (!sig) return 'unsigned';
  if (typeof sig !== 'object' || typeof sig.value !== 'string' || typeof sig.publicKeyFingerprint !== 'string' || sig.algorithm !== 'Ed25519') return 'malformed';
  let payload: string;
  try {
    payload = reportPayload(r as ComplianceReport);
  } catch {
    return 'malformed';
  }
  return checkPayloadSignature(payload, sig.value, sig.publicKeyFingerprint, key);
}

export const REPORT_SCRIPT = /<script type="application\/json" id="rekey-compliance-report">([\s\S]*?)<\/script>/;

/** The report inside a file: JSON, or the HTML page (which carries the signed JSON). */
export function parseReportFile(text: string): unknown {
  const m = REPORT_SCRIPT.exec(text);
  // the page escapes '<' inside the JSON as \u003c, which JSON.parse reads back
  return JSON.parse(m ? m[1]! : text) as unknown;
}
