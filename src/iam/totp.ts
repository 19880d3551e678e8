// Time-based one-time passwords: RFC 6238 (TOTP) over RFC 4226 (HOTP), with the parameters every
// authenticator app uses: HMAC-SHA-1, 30-second steps from the Unix epoch, 6 digits.
import { constantTimeEqual } from '../crypto/index.ts';
import { totpHmac, type TotpHash } from '../crypto/totp-hmac.ts';

export const STEP_SECONDS = 30;
export const DIGITS = 6;

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding (what authenticator apps expect in otpauth:// URIs). */
export function base32Encode(buf: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(s: string): Buffer {
  const clean = s.replace(/=+$/, '').replace(/\s+/g, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of clean) {
    const i = B32.indexOf(c);
    if (i < 0) throw new RangeError('invalid base32');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/**
 * RFC 4226 section 5.3: HS = HMAC(K, C) with C the 8-byte big-endian counter; dynamic truncation
 * takes 4 bytes at offset (low nibble of the last byte), masks the top bit, and reduces mod 10^Digit.
 */
export function hotp(key: Uint8Array, counter: number, digits = DIGITS, hash: TotpHash = 'sha1'): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const hs = totpHmac(hash, key, msg);
  const offset = hs[hs.length - 1]! & 0x0f;
  const bin = ((hs[offset]! & 0x7f) << 24) | (hs[offset + 1]! << 16) | (hs[offset + 2]! << 8) | hs[offset + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** RFC 6238 section 4.2: T = floor((Current Unix time - T0) / X), T0 = 0, X = 30 s. */
export function timeStep(unixSeconds: number): number {
  return Math.floor(unixSeconds / STEP_SECONDS);
}

export function totp(key: Uint8Array, unixSeconds: number, digits = DIGITS, hash: TotpHash = 'sha1'): string {
  return hotp(key, timeStep(unixSeconds), digits, hash);
}

/**
 * Finds the time step a code belongs to, accepting one step either side of now (RFC 6238 section
 * 5.2: "We RECOMMEND that at most one time step is allowed as the network delay") and only steps
 * after `afterStep`, so a code is never accepted twice. Returns the step, or undefined.
 */
export function matchTotp(key: Uint8Array, code: string, unixSeconds: number, afterStep: number): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const now = timeStep(unixSeconds);
  let found: number | undefined;
  // every candidate is computed and compared, so timing does not reveal which one matched
  for (let s = now - 1; s <= now + 1; s++) {
    const ok = constantTimeEqual(Buffer.from(hotp(key, s)), Buffer.from(code));
    if (ok && s > afterStep && found === undefined) found = s;
  }
  return found;
}
