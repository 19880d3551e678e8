// X.509 primitives for rekey's own certificate authority (src/certs): ECDSA P-256 keys, a
// self-signed CA, server and client certificates signed by it, and parsing. @peculiar/x509 builds
// and parses the ASN.1; Node's WebCrypto does every key operation. Keys leave this module as PKCS#8
// PEM strings only so the caller can store them through the barrier and hand them to node:tls.
import './reflect-metadata.ts';
import { webcrypto, createPrivateKey, X509Certificate as NodeX509 } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface PemPair {
  certPem: string;
  /** PKCS#8 PEM. Secret: store it through the barrier only. */
  keyPem: string;
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** Hex, lower case. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  /** SHA-256 of the DER, hex with colons (as `openssl x509 -fingerprint -sha256`). */
  fingerprint256: string;
  isCa: boolean;
}

function randomSerial(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[0] = b[0]! & 0x7f; // positive INTEGER
  if (b[0] === 0) b[0] = 1; // DER: no leading zero byte
  return Buffer.from(b).toString('hex');
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`;
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const b64 = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  return crypto.subtle.importKey('pkcs8', Buffer.from(b64, 'base64'), EC, false, ['sign']);
}

const dn = (cn: string) => `CN=${cn.replace(/[,+="\\<>;#]/g, '')}, O=rekey`;

/** A new self-signed CA (basicConstraints cA, pathLen 0; keyCertSign + cRLSign). */
export async function generateCa(o: { commonName: string; notBefore: Date; notAfter: Date }): Promise<PemPair> {
  const keys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(), name: dn(o.commonName), notBefore: o.notBefore, notAfter: o.notAfter, keys, signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

export interface IssueParams {
  caCertPem: string;
  caKeyPem: string;
  commonName: string;
  /** DNS names and IP addresses (v4 or v6) for subjectAltName; an entry that parses as an IP is one. */
  sans: readonly string[];
  /** URI SANs (client certificates: the IAM principal ARN). */
  uris?: readonly string[];
  notBefore: Date;
  notAfter: Date;
  usage: 'server' | 'client';
}

const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;
export const isIpAddress = (s: string) => IPV4.test(s) || (s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s));

/** A leaf certificate with a fresh P-256 key, signed by the CA. */
export async function issueCertificate(p: IssueParams): Promise<PemPair> {
  const ca = new x509.X509Certificate(p.caCertPem);
  const caKey = await importKeyPem(p.caKeyPem);
  const keys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const names: x509.JsonGeneralName[] = [
    ...p.sans.map((s) => ({ type: (isIpAddress(s) ? 'ip' : 'dns') as 'ip' | 'dns', value: s })),
    ...(p.uris ?? []).map((u) => ({ type: 'url' as const, value: u })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(), subject: dn(p.commonName), issuer: ca.subject, notBefore: p.notBefore, notAfter: p.notAfter,
    publicKey: keys.publicKey, signingKey: caKey, signingAlgorithm: SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([p.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

/** Parses the first certificate of a PEM text (node:crypto's parser). Throws RangeError on bad input. */
export function parseCertificate(pem: string | Buffer): CertificateInfo {
  let c: NodeX509;
  try {
    c = new NodeX509(pem);
  } catch {
    throw new RangeError('not a PEM-encoded X.509 certificate');
  }
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const uris: string[] = [];
  for (const part of (c.subjectAltName ?? '').split(/,\s*/)) {
    const i = part.indexOf(':');
    if (i < 0) continue;
    const [k, v] = [part.slice(0, i), part.slice(i + 1).replace(/^"|"$/g, '')];
    if (k === 'DNS') dnsNames.push(v);
    else if (k === 'IP Address') ipAddresses.push(v);
    else if (k === 'URI') uris.push(v);
  }
  return {
    subject: c.subject.replace(/\n/g, ', '), issuer: c.issuer.replace(/\n/g, ', '), serial: c.serialNumber.toLowerCase(),
    notBefore: new Date(c.validFrom), notAfter: new Date(c.validTo), dnsNames, ipAddresses, uris,
    fingerprint256: c.fingerprint256, isCa: c.ca,
  };
}

/** Whether `certPem` was signed by `caCertPem` (signature check only; dates are the caller's business). */
export function isSignedBy(certPem: string, caCertPem: string): boolean {
  try {
    return new NodeX509(certPem).verify(new NodeX509(caCertPem).publicKey);
  } catch {
    return false;
  }
}

/** Whether a PKCS#8 / SEC1 private key PEM matches the certificate's public key. */
export function keyMatchesCertificate(certPem: string, keyPem: string): boolean {
  try {
    return new NodeX509(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

