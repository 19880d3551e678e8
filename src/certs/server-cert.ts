// Issues the API's server certificate from a CA (not stored: CertService stores it with a CAS).
import { issueCertificate, isIpAddress, parseCertificate } from '../crypto/x509.ts';
import { ConfigurationError } from '../errors.ts';
import { historyEntryOf, normalizeSan, type CaKeyPair, type IssueReason, type ServerCertRecord } from './model.ts';

export interface IssueServerParams {
  reason: IssueReason;
  /** The certificate it replaces, if any: its SANs are kept. */
  current: ServerCertRecord | undefined;
  ca: CaKeyPair;
  sans: readonly string[];
  lifetimeMs: number;
  node: string;
  now: Date;
}

export async function newServerCert(p: IssueServerParams) {
  const prev = p.current ? parseCertificate(p.current.certPem) : undefined;
  // SANs only grow: nodes with different lists converge on the union instead of taking turns.
  const sans = [...new Set([...(prev ? [...prev.dnsNames, ...prev.ipAddresses] : []), ...p.sans.map(normalizeSan)])];
  if (sans.length === 0) throw new ConfigurationError('tls.sans is empty: the server certificate needs at least one DNS name or IP address');
  const pair = await issueCertificate({
    caCertPem: p.ca.certPem, caKeyPem: p.ca.keyPem, commonName: sans.find((s) => !isIpAddress(s)) ?? sans[0]!, sans,
    notBefore: new Date(p.now.getTime() - 60_000), notAfter: new Date(p.now.getTime() + p.lifetimeMs), usage: 'server',
  });
  const rec: ServerCertRecord = { ...pair, issuedAt: p.now.toISOString(), reason: p.reason, node: p.node };
  return { rec, entry: historyEntryOf(pair.certPem, p.now, p.reason, p.node, prev?.serial), prev, reason: p.reason };
}

export type IssuedServerCert = Awaited<ReturnType<typeof newServerCert>>;
