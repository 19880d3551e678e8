// Ed25519 signatures (RFC 8032) for the audit trail's signed digests. Lives in src/crypto because
// only this folder may import node:crypto. Keys cross this boundary as DER bytes (PKCS#8 for the
// private key, SPKI for the public key) or PEM text for the public key; the private key is turned
// into an opaque signer once so callers can zero their copy of the bytes right away.
import * as nc from 'node:crypto';
import { sha256 } from './index.ts';

export interface Ed25519KeyPair {
  /** PKCS#8 DER. Secret: keep behind the barrier and zeroize copies. */
  privateKeyPkcs8: Buffer;
  /** SPKI DER. Public. */
  publicKeySpki: Buffer;
}

/** Raised when bytes or text given as an Ed25519 key are not one. Carries no key bytes. */
export class InvalidSigningKey extends Error {
  constructor(what: string) {
    super(`not an Ed25519 ${what}`);
    this.name = 'InvalidSigningKey';
  }
}

export function generateEd25519(): Ed25519KeyPair {
  const { privateKey, publicKey } = nc.generateKeyPairSync('ed25519');
  return {
    privateKeyPkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }),
    publicKeySpki: publicKey.export({ format: 'der', type: 'spki' }),
  };
}

/** Signs with a private key held inside OpenSSL; never exposes the key bytes again. */
export interface Ed25519Signer {
  readonly publicKeySpki: Buffer;
  sign(data: Uint8Array | string): Buffer;
}

export function ed25519Signer(privateKeyPkcs8: Uint8Array): Ed25519Signer {
  let key: nc.KeyObject;
  try {
    key = nc.createPrivateKey({ key: Buffer.from(privateKeyPkcs8), format: 'der', type: 'pkcs8' });
  } catch {
    throw new InvalidSigningKey('private key');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new InvalidSigningKey('private key');
  const publicKeySpki = nc.createPublicKey(key).export({ format: 'der', type: 'spki' });
  return {
    publicKeySpki,
    // Ed25519 hashes internally, so the algorithm argument must be null (RFC 8032 PureEdDSA).
    sign: (data) => nc.sign(null, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, key),
  };
}

function publicKeyObject(publicKey: Uint8Array | string): nc.KeyObject {
  let key: nc.KeyObject;
  try {
    key = typeof publicKey === 'string'
      ? nc.createPublicKey({ key: publicKey, format: 'pem' })
      : nc.createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
  } catch {
    throw new InvalidSigningKey('public key');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new InvalidSigningKey('public key');
  return key;
}

/**
 * Verifies an Ed25519 signature. Returns false for any bad signature (wrong length, wrong key,
 * altered data) instead of throwing, so a verifier can report a forged digest as a finding.
 * Throws InvalidSigningKey only when the public key itself is unusable.
 */
export function ed25519Verify(publicKey: Uint8Array | string, data: Uint8Array | string, signature: Uint8Array): boolean {
  const key = publicKeyObject(publicKey);
  if (signature.length !== 64) return false;
  try {
    return nc.verify(null, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, key, signature);
  } catch {
    return false;
  }
}

/** SPKI DER -> PEM ("-----BEGIN PUBLIC KEY-----"), the form operators hand to other tools. */
export function publicKeyToPem(spki: Uint8Array): string {
  return publicKeyObject(spki).export({ format: 'pem', type: 'spki' }).toString();
}

/** PEM -> SPKI DER; throws InvalidSigningKey unless it is an Ed25519 public key. */
export function publicKeyFromPem(pem: string): Buffer {
  return publicKeyObject(pem).export({ format: 'der', type: 'spki' });
}

/** Stable identifier of a public key: hex SHA-256 of its SPKI DER. */
export function publicKeyFingerprint(spki: Uint8Array): string {
  return sha256(spki).toString('hex');
}
