// Rotation of rekey's own CA, the way RDS rotates its CAs: clients are given time to trust the new
// CA before the server presents a certificate from it, and the old CA stays trusted for a while
// after. Pure steps over the stored CaRecord (certs/ca); CertService stores each with a CAS.
//
//   no rotation   bundle [A]      server certificate from A
//   phase 1       bundle [A, B]   server certificate from A     start:    B is created
//   phase 2       bundle [B, A]   server certificate from B     complete: the server certificate is
//                                                               reissued by B in the same transaction
//   no rotation   bundle [B]      server certificate from B     finish:   A leaves the bundle (phase 3)
//
// Each phase begins when an operator asks (`rekey certs rotate-ca [--complete|--finish]`) or by
// itself: phase 1 when the CA is 2/3 into its life (earlier if two overlaps would not fit before it
// expires), phases 2 and 3 one overlap (`tls.caOverlapSeconds`) after the previous phase began.
import { parseCertificate, type CertificateInfo } from '../crypto/x509.ts';
import { CertificateAuthorityRotationStateException } from '../errors.ts';
import { renewAtOf, viewOf, type CaKeyPair, type CaRecord, type CaTrigger, type CertView } from './model.ts';

export type CaStep = 'start' | 'complete' | 'finish';

export const DEFAULT_CA_OVERLAP_MS = 30 * 86_400_000;

/** The CA certificates clients must trust now: the signing CA first, then the other CA of a rotation. */
export function trustBundle(rec: CaRecord): string {
  return rec.certPem + (rec.rotation?.next?.certPem ?? '') + (rec.rotation?.previousCertPem ?? '');
}

export const caPhaseOf = (rec: CaRecord): 0 | 1 | 2 => rec.rotation?.phase ?? 0;

/** When a CA rotation starts by itself: 2/3 into the CA's life, or two overlaps before it expires if that is earlier. */
export function caRenewAtOf(info: Pick<CertificateInfo, 'notBefore' | 'notAfter'>, overlapMs: number): Date {
  const third = renewAtOf(info);
  const latest = new Date(info.notAfter.getTime() - 2 * overlapMs);
  return latest < third ? latest : third;
}

/** When the current phase ends by itself (phase 1 -> 2, phase 2 -> 3), or when phase 1 starts. */
export function nextStepOf(rec: CaRecord, overlapMs: number): { step: CaStep; at: Date } {
  const r = rec.rotation;
  if (!r) return { step: 'start', at: caRenewAtOf(parseCertificate(rec.certPem), overlapMs) };
  return { step: r.phase === 1 ? 'complete' : 'finish', at: new Date(Date.parse(r.phaseStartedAt) + overlapMs) };
}

/** The step that is due at `now`, if any, with what triggered it. */
export function dueCaStep(rec: CaRecord, now: Date, overlapMs: number): { step: CaStep; trigger: CaTrigger } | null {
  const n = nextStepOf(rec, overlapMs);
  if (now < n.at) return null;
  return { step: n.step, trigger: n.step === 'start' ? 'scheduled' : 'overlap-elapsed' };
}

/** Throws CertificateAuthorityRotationStateException when `step` does not follow the record's phase. */
export function checkStep(rec: CaRecord, step: CaStep): void {
  const r = rec.rotation;
  const since = r ? ` since ${r.phaseStartedAt}` : '';
  if (step === 'start' && r) {
    throw new CertificateAuthorityRotationStateException(`A rotation of rekey's CA is already in phase ${r.phase}${since}: ${r.phase === 1 ? 'complete it (rekey certs rotate-ca --complete)' : 'finish it (rekey certs rotate-ca --finish)'} before starting another.`);
  }
  if (step !== 'start' && !r) {
    throw new CertificateAuthorityRotationStateException('No rotation of rekey\'s CA is in progress: start one with rekey certs rotate-ca.');
  }
  if (step === 'complete' && r?.phase === 2) {
    throw new CertificateAuthorityRotationStateException(`The rotation of rekey's CA is already in phase 2${since} (the server certificate comes from the new CA): finish it with rekey certs rotate-ca --finish.`);
  }
  if (step === 'finish' && r?.phase === 1) {
    throw new CertificateAuthorityRotationStateException(`The rotation of rekey's CA is in phase 1${since}: complete it first (rekey certs rotate-ca --complete) so the server certificate comes from the new CA; the old CA can only leave the bundle after that.`);
  }
}

/** The record after `step` (checkStep first). `start` needs the new CA. */
export function advanceCa(rec: CaRecord, step: CaStep, now: Date, trigger: CaTrigger, newCa?: CaKeyPair): CaRecord {
  checkStep(rec, step);
  const at = now.toISOString();
  if (step === 'start') {
    if (!newCa) throw new TypeError('advanceCa(start) needs the new CA');
    return { certPem: rec.certPem, keyPem: rec.keyPem, createdAt: rec.createdAt, rotation: { phase: 1, trigger, startedAt: at, phaseStartedAt: at, next: newCa } };
  }
  const r = rec.rotation!;
  if (step === 'complete') {
    const next = r.next!;
    return { certPem: next.certPem, keyPem: next.keyPem, createdAt: next.createdAt, rotation: { phase: 2, trigger, startedAt: r.startedAt, phaseStartedAt: at, previousCertPem: rec.certPem } };
  }
  return { certPem: rec.certPem, keyPem: rec.keyPem, createdAt: rec.createdAt };
}

/** The CA that the step retires (start, complete, finish: the old CA) and the one it brings in. */
export function stepCas(before: CaRecord, after: CaRecord): { oldCa: string; newCa: string } {
  if (!before.rotation) return { oldCa: before.certPem, newCa: after.rotation!.next!.certPem };
  if (before.rotation.phase === 1) return { oldCa: before.certPem, newCa: after.certPem };
  return { oldCa: before.rotation.previousCertPem!, newCa: before.certPem };
}

export type CaRole = 'signing' | 'next' | 'previous';

export interface CaRotationView {
  /** 0: no rotation in progress; 1: new CA published; 2: server certificate from the new CA. */
  phase: 0 | 1 | 2;
  /** Every CA in the trust bundle, the signing one first. */
  authorities: Array<CertView & { role: CaRole }>;
  startedAt?: string;
  phaseStartedAt?: string;
  trigger?: CaTrigger;
  /** What happens next by itself, and when: start (phase 1), complete (phase 2), finish (phase 3). */
  nextStep: CaStep;
  nextStepAt: string;
  /** The trust bundle clients should use now (public certificates only). */
  bundlePem: string;
}

export function rotationView(rec: CaRecord, overlapMs: number): CaRotationView {
  const r = rec.rotation;
  const n = nextStepOf(rec, overlapMs);
  const authorities: CaRotationView['authorities'] = [{ ...viewOf(parseCertificate(rec.certPem)), role: 'signing' }];
  if (r?.next) authorities.push({ ...viewOf(parseCertificate(r.next.certPem)), role: 'next' });
  if (r?.previousCertPem) authorities.push({ ...viewOf(parseCertificate(r.previousCertPem)), role: 'previous' });
  return {
    phase: caPhaseOf(rec), authorities,
    ...(r ? { startedAt: r.startedAt, phaseStartedAt: r.phaseStartedAt, trigger: r.trigger } : {}),
    nextStep: n.step, nextStepAt: n.at.toISOString(), bundlePem: trustBundle(rec),
  };
}
