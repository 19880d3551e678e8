// What the certificate component stores (through the barrier) and shows (docs/TLS.md).
//
//   certs/ca                     CaRecord: rekey's signing CA (certificate and key) and, during a CA
//                                rotation, the other CA of the trust bundle (ca-rotation.ts; CAS-versioned)
//   certs/server                 ServerCertRecord: the API's current certificate and key (CAS-versioned)
//   certs/history/<ms>-<serial>  HistoryEntry: every certificate the API has used, without keys
import { parseCertificate, type CertificateInfo } from '../crypto/x509.ts';

export const CA_PATH = 'certs/ca';
export const SERVER_PATH = 'certs/server';
export const HISTORY_PREFIX = 'certs/history/';

export interface CaKeyPair {
  certPem: string;
  /** Secret. Never leaves the barrier except into this process's memory. */
  keyPem: string;
  createdAt: string;
}

/** certPem/keyPem: the CA that signs the server certificate and issue()'s certificates. */
export interface CaRecord extends CaKeyPair {
  /** A rotation of rekey's CA in progress (docs/TLS.md "Rotating rekey's CA"); absent: none. */
  rotation?: CaRotationState;
}

/** What moved a CA rotation: an operator, the CA's own age, or the end of an overlap period. */
export type CaTrigger = 'manual' | 'scheduled' | 'overlap-elapsed';

export interface CaRotationState {
  /**
   * 1: the new CA is in the trust bundle, the server certificate still comes from the old CA.
   * 2: the server certificate comes from the new CA, the old CA is still in the bundle.
   * (Phase 3 ends the rotation: the old CA leaves the bundle and `rotation` is removed.)
   */
  phase: 1 | 2;
  trigger: CaTrigger;
  startedAt: string;
  phaseStartedAt: string;
  /** Phase 1: the new CA (not signing yet). */
  next?: CaKeyPair;
  /** Phase 2: the old CA's certificate, still trusted; its key is dropped. */
  previousCertPem?: string;
}

/** History reasons of the three CA rotation phases. */
export type CaPhaseReason = 'ca-publish' | 'ca-switch' | 'ca-finish';

/** Why a certificate was issued or loaded. */
export type IssueReason = 'initial' | 'scheduled' | 'manual' | 'sans-changed' | 'expired' | 'file-reload' | 'ca-changed';

export interface ServerCertRecord {
  certPem: string;
  /** Secret. */
  keyPem: string;
  issuedAt: string;
  reason: IssueReason;
  /** The node that issued it. */
  node: string;
}

export interface HistoryEntry {
  /** 'ca': a CA rotation phase (serial: the new CA, replaced: the old CA); absent: a server certificate. */
  kind?: 'ca';
  serial: string;
  fingerprint256: string;
  subject: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  reason: IssueReason | CaPhaseReason;
  node: string;
  /** Serial of the certificate this one replaced. */
  replaced?: string;
  /** CA phases: what moved the rotation. */
  trigger?: CaTrigger;
}

/** A certificate as the admin API and `rekey certs status` show it: no key. */
export interface CertView {
  subject: string;
  issuer: string;
  serial: string;
  fingerprint256: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
  /** When this node will replace it (generated mode): 2/3 into its lifetime. */
  renewAt?: string;
}

export function viewOf(info: CertificateInfo, renewAt?: Date): CertView {
  return {
    subject: info.subject, issuer: info.issuer, serial: info.serial, fingerprint256: info.fingerprint256,
    sans: sansOf(info), notBefore: info.notBefore.toISOString(), notAfter: info.notAfter.toISOString(),
    ...(renewAt ? { renewAt: renewAt.toISOString() } : {}),
  };
}

export const sansOf = (info: CertificateInfo): string[] => [...info.dnsNames, ...info.ipAddresses, ...info.uris.map((u) => `URI:${u}`)];

export function historyEntryOf(certPem: string, issuedAt: Date, reason: IssueReason | CaPhaseReason, node: string, replaced?: string, trigger?: CaTrigger): HistoryEntry {
  const info = parseCertificate(certPem);
  return {
    ...(trigger ? { kind: 'ca' as const } : {}), serial: info.serial, fingerprint256: info.fingerprint256, subject: info.subject, sans: sansOf(info),
    notBefore: info.notBefore.toISOString(), notAfter: info.notAfter.toISOString(), issuedAt: issuedAt.toISOString(),
    reason, node, ...(replaced ? { replaced } : {}), ...(trigger ? { trigger } : {}),
  };
}

/** History keys sort by time: zero-padded epoch ms, then the serial. */
export const historyKey = (at: Date, serial: string) => `${HISTORY_PREFIX}${String(at.getTime()).padStart(15, '0')}-${serial}`;

/** The point (2/3 into the lifetime) after which a certificate is replaced. */
export function renewAtOf(info: Pick<CertificateInfo, 'notBefore' | 'notAfter'>, fraction = 2 / 3): Date {
  const a = info.notBefore.getTime();
  return new Date(a + Math.floor((info.notAfter.getTime() - a) * fraction));
}

/** How node:crypto prints a SAN (IPv6 expanded), so configured and parsed names compare equal. */
export function normalizeSan(s: string): string {
  if (!s.includes(':')) return s;
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => (parseInt(g, 16) || 0).toString(16).toUpperCase()).join(':');
}
