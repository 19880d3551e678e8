// What the certificate component stores (through the barrier) and shows (docs/TLS.md).
//
//   certs/ca                     CaRecord: rekey's CA certificate and its private key
//   certs/server                 ServerCertRecord: the API's current certificate and key (CAS-versioned)
//   certs/history/<ms>-<serial>  HistoryEntry: every certificate the API has used, without keys
import { parseCertificate, type CertificateInfo } from '../crypto/x509.ts';

export const CA_PATH = 'certs/ca';
export const SERVER_PATH = 'certs/server';
export const HISTORY_PREFIX = 'certs/history/';

export interface CaRecord {
  certPem: string;
  /** Secret. Never leaves the barrier except into this process's memory. */
  keyPem: string;
  createdAt: string;
}

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
  serial: string;
  fingerprint256: string;
  subject: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  reason: IssueReason;
  node: string;
  /** Serial of the certificate this one replaced. */
  replaced?: string;
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

export function historyEntryOf(certPem: string, issuedAt: Date, reason: IssueReason, node: string, replaced?: string): HistoryEntry {
  const info = parseCertificate(certPem);
  return {
    serial: info.serial, fingerprint256: info.fingerprint256, subject: info.subject, sans: sansOf(info),
    notBefore: info.notBefore.toISOString(), notAfter: info.notAfter.toISOString(), issuedAt: issuedAt.toISOString(),
    reason, node, ...(replaced ? { replaced } : {}),
  };
}

/** History keys sort by time: zero-padded epoch ms, then the serial. */
export const historyKey = (at: Date, serial: string) => `${HISTORY_PREFIX}${String(at.getTime()).padStart(15, '0')}-${serial}`;

/** The point (2/3 into the lifetime) after which a certificate is replaced. */
export function renewAtOf(info: Pick<CertificateInfo, 'notBefore' | 'notAfter'>, fraction = 2 / 3): Date {
  const a = info.notBefore.getTime();
  return new Date(a + Math.floor((info.notAfter.getTime() - a) * fraction));
}
