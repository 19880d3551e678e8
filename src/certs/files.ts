// Files mode (tls.mode "files"): the operator's certificate, key and client CA bundle, read from
// disk; CertService re-reads them when their stamp (mtime and size) changes or on SIGHUP.
import { readFileSync, statSync } from 'node:fs';
import { keyMatchesCertificate, parseCertificate } from '../crypto/x509.ts';
import { ConfigurationError } from '../errors.ts';

export interface TlsFiles { certFile: string; keyFile: string; clientCaFile?: string | undefined }

/** Changes when any of the files changes. Throws the fs error when one cannot be read. */
export function stampOf(f: TlsFiles): string {
  return [f.certFile, f.keyFile, f.clientCaFile].filter((p): p is string => !!p).map((p) => { const s = statSync(p); return `${s.mtimeMs}:${s.size}`; }).join('|');
}

/** Reads and checks the pair (the key must match the certificate). */
export function readTlsFiles(f: TlsFiles): { cert: string; key: string; ca?: string } {
  const cert = readFileSync(f.certFile, 'utf8');
  const key = readFileSync(f.keyFile, 'utf8');
  const ca = f.clientCaFile ? readFileSync(f.clientCaFile, 'utf8') : undefined;
  parseCertificate(cert);
  if (!keyMatchesCertificate(cert, key)) throw new ConfigurationError(`the key in ${f.keyFile} does not match the certificate in ${f.certFile}`);
  return { cert, key, ...(ca ? { ca } : {}) };
}
