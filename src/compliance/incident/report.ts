// The incident report: what was reported, what rekey did (each step, when), what the key protects
// now and with which material, what still needs a person, and every recorded use in the window,
// signed with the audit signing key like the compliance report (src/compliance/report.ts):
//
//   signature.value = Ed25519( "rekey-incident-report-v1\n" + canonical JSON of the report without `signature` )
import { canonicalJson } from '../../audit/canonical.ts';
import { type AuditPublicKey, checkPayloadSignature } from '../../audit/digest.ts';
import type { ReportCheck, ReportSigner } from '../report.ts';
import type { Holding, IncidentRecord, PrincipalUse, UseRef } from './model.ts';

const DOMAIN = 'rekey-incident-report-v1\n';

export interface IncidentAction {
  step: string;
  at: string;
  outcome: string;
}

export interface IncidentReport {
  format: 'rekey-incident-report';
  version: 1;
  incident: IncidentRecord;
  generatedAt: string;
  /** compromised-key: the key and its material versions before and after. */
  key?: {
    arn: string;
    keyId: string;
    compromisedMaterials: { id: string; createdAt: string }[];
    currentMaterial: { id: string; createdAt: string };
  };
  /** compromised-credentials: the secret or access key and what was done to it. */
  credential?: { type: 'secret' | 'access-key'; id: string; arn?: string; principal?: string };
  actions: IncidentAction[];
  /** What rekey holds under the key, after re-wrapping: each with the material ids it uses now. */
  holdings: Holding[];
  /** Holdings still made with compromised material (with why). Empty when everything was re-wrapped. */
  stillCompromised: Holding[];
  /**
   * Instances whose volume key was re-wrapped but not changed: the key that encrypts their files is
   * the same, so a copy of the old wrapped key plus the old material still opens it. `rekey db
   * change-key <id> --kms-key-id <key>` gives them a new volume key on a new volume.
   */
  needChangeKey: string[];
  uses: { total: number; truncated: boolean; byPrincipal: PrincipalUse[]; events: UseRef[] };
  disabled: { principal: string; accessKeys: string[]; sessions: string[] }[];
  notes: string[];
  signature?: { algorithm: 'Ed25519'; publicKeyFingerprint: string; value: string };
}

export function incidentPayload(report: IncidentReport): string {
  const { signature: _omit, ...body } = report;
  return DOMAIN + canonicalJson(body);
}

export function signIncidentReport(report: IncidentReport, signer: ReportSigner): IncidentReport {
  const plain = JSON.parse(JSON.stringify(report)) as IncidentReport; // plain JSON only: what is signed is what a reader parses
  delete plain.signature;
  return { ...plain, signature: { algorithm: 'Ed25519', publicKeyFingerprint: signer.publicKey.fingerprint, value: signer.signPayload(incidentPayload(plain)) } };
}

export function verifyIncidentReport(report: unknown, key: AuditPublicKey): ReportCheck {
  if (typeof report !== 'object' || report === null || Array.isArray(report)) return 'malformed';
  const r = report as Partial<IncidentReport>;
  if (r.format !== 'rekey-incident-report' || r.version !== 1) return 'malformed';
  const sig = r.signature;
  if (!sig) return 'unsigned';
  if (typeof sig !== 'object' || typeof sig.value !== 'string' || typeof sig.publicKeyFingerprint !== 'string' || sig.algorithm !== 'Ed25519') return 'malformed';
  let payload: string;
  try {
    payload = incidentPayload(r as IncidentReport);
  } catch {
    return 'malformed';
  }
  return checkPayloadSignature(payload, sig.value, sig.publicKeyFingerprint, key);
}
