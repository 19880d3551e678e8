// The only module in rekey that imports node:crypto (enforced by scripts/lint-boundaries.ts and
// test/boundaries.test.ts). Everything else gets a small, hard-to-misuse API from here.
import * as nc from 'node:crypto';

export const KEY_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

/** Raised by open() for any authentication failure. Carries no detail on purpose. */
export class AuthenticationFailed extends Error {
  constructor() {
    super('authentication failed');
    this.name = 'AuthenticationFailed';
  }
}

export function randomBytes(n: number): Buffer {
  return nc.randomBytes(n);
}

export function randomUUID(): string {
  return nc.randomUUID();
}

/** Cryptographically random integer in [0, max). */
export function randomInt(max: number): number {
  return nc.randomInt(max);
}

export interface Sealed {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/** AES-256-GCM encryption. A fresh random 96-bit IV is used unless one is given (tests only). */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, iv: Buffer = randomBytes(IV_BYTES)): Sealed {
  if (key.length !== KEY_BYTES) throw new RangeError('seal: key must be 32 bytes');
  const c = nc.createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  c.setAAD(aad);
  const ciphertext = Buffer.concat([c.update(plaintext), c.final()]);
  return { iv, ciphertext, tag: c.getAuthTag() };
}

/** AES-256-GCM decryption; throws AuthenticationFailed for any mismatch of key, IV, AAD, tag or data. */
export function open(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, aad: Uint8Array): Buffer {
  if (key.length !== KEY_BYTES || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new AuthenticationFailed();
  try {
    const d = nc.createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    d.setAAD(aad);
    d.setAuthTag(tag);
    return Buffer.concat([d.update(ciphertext), d.final()]);
  } catch {
    throw new AuthenticationFailed();
  }
}

/** HKDF-SHA256 (RFC 5869). */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Buffer {
  return Buffer.from(nc.hkdfSync('sha256', ikm, salt, info, length));
}

export function sha256(data: Uint8Array | string): Buffer {
  return nc.createHash('sha256').update(data).digest();
}

// crypto.hash (Node >= 20.12 / 21.7): one call into C++ instead of a Hash object, update() and
// digest(); the package allows any Node 20, so older ones fall back to createHash.
const oneShotHash = (nc as { hash?: (algorithm: string, data: Uint8Array | string, encoding: 'hex' | 'latin1') => string }).hash;

/** Lower-case hex SHA-256 (SigV4's HexEncode(Hash(...)), the audit chain's record hash). */
export function sha256Hex(data: Uint8Array | string): string {
  return oneShotHash !== undefined ? oneShotHash('sha256', data, 'hex') : nc.createHash('sha256').update(data).digest('hex');
}

export function hmacSha256(key: Uint8Array | string, data: Uint8Array | string): Buffer {
  return nc.createHmac('sha256', key).update(data).digest();
}

const HMAC_BLOCK = 64; // SHA-256's block size
let macInner = Buffer.alloc(HMAC_BLOCK + 1024);
const macOuter = Buffer.alloc(HMAC_BLOCK + 32);

/**
 * Lower-case hex HMAC-SHA256 of a string, for a MAC that is public once made: a request signature
 * to compare with the one the client sent (SigV4). RFC 2104, H((K ^ opad) || H((K ^ ipad) || m)),
 * from two one-shot SHA-256 calls: half the CPU of createHmac, whose init looks the digest up
 * again on every call (Node 20). The pads live in module buffers zeroed after each call (all of it
 * synchronous); the inner digest passes through a V8 string, which cannot be zeroed, so never use
 * this for key derivation (hmacSha256 is for that). Keys longer than a block, long messages and
 * Nodes without crypto.hash take createHmac.
 */
export function hmacSha256Hex(key: Uint8Array, data: string): string {
  const n = Buffer.byteLength(data, 'utf8');
  if (oneShotHash === undefined || key.length > HMAC_BLOCK || n > 65536) return nc.createHmac('sha256', key).update(data).digest('hex');
  if (macInner.length < HMAC_BLOCK + n) macInner = Buffer.alloc(HMAC_BLOCK + n);
  const inner = macInner;
  const outer = macOuter;
  for (let i = 0; i < HMAC_BLOCK; i++) {
    const k = i < key.length ? key[i]! : 0;
    inner[i] = k ^ 0x36;
    outer[i] = k ^ 0x5c;
  }
  try {
    inner.write(data, HMAC_BLOCK, n, 'utf8');
    outer.write(oneShotHash('sha256', inner.subarray(0, HMAC_BLOCK + n), 'latin1'), HMAC_BLOCK, 32, 'latin1');
    return oneShotHash('sha256', outer, 'hex');
  } finally {
    inner.fill(0, 0, HMAC_BLOCK + n);
    outer.fill(0);
  }
}

/** Constant-time equality; different lengths compare unequal without leaking where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    // still spend the time of a comparison so length is the only thing revealed
    nc.timingSafeEqual(a, a);
    return false;
  }
  return nc.timingSafeEqual(a, b);
}

/** Overwrites a buffer holding key material or a data key. */
export function zeroize(...bufs: (Uint8Array | undefined | null)[]): void {
  for (const b of bufs) if (b) b.fill(0);
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}
export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 15, r: 8, p: 1 };

/** Derives a 32-byte key from a passphrase with scrypt. */
export function scrypt(passphrase: string, salt: Uint8Array, params: ScryptParams = DEFAULT_SCRYPT): Buffer {
  return nc.scryptSync(passphrase, salt, KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 });
}
