// HMAC with the hash functions RFC 6238 (TOTP) allows. TOTP authenticators use HMAC-SHA-1 (the
// RFC's default and what every authenticator app implements); SHA-256/512 are here for the RFC's
// own test vectors. Kept apart from index.ts so SHA-1 is never offered for anything but TOTP.
import * as nc from 'node:crypto';

export type TotpHash = 'sha1' | 'sha256' | 'sha512';

/** HMAC(key, data) with the TOTP hash `alg` (RFC 6238 section 1.2: HMAC-SHA-1 by default). */
export function totpHmac(alg: TotpHash, key: Uint8Array, data: Uint8Array): Buffer {
  return nc.createHmac(alg, key).update(data).digest();
}
