// Signed digests. A digest closes a period of one node's chain (every `digestPeriodMs`, and at
// shutdown): it names the range of sequence numbers, the hash before the range and the hash at its
// end, and the previous digest's signature, all signed with Ed25519. So:
//   - rewriting events and re-hashing the chain after them is caught (lastHash no longer matches);
//   - deleting events at the end of a closed period is caught (toSeq names events that are gone);
//   - deleting or replacing a digest is caught (the next digest names its signature);
//   - a verifier needs only the public key, which can be exported and kept elsewhere.
// The signing key is generated once, stored behind the barrier and shared by all nodes.
import { type Ed25519Signer, ed25519Signer, ed25519Verify, generateEd25519, publicKeyFingerprint, publicKeyFromPem, publicKeyToPem, InvalidSigningKey } from '../crypto/sign.ts';
import { zeroize } from '../crypto/index.ts';
import { CasConflict } from '../storage/backend.ts';
import type { Barrier } from '../storage/barrier.ts';
import { canonicalJson } from './canonical.ts';
import { SIGNING_KEY_PATH, digestPath, digestsPrefix, seqOfPath } from './paths.ts';

export interface AuditDigest {
  version: 1;
  node: string;
  /** First and last sequence number covered; count = toSeq - fromSeq + 1. */
  fromSeq: number;
  toSeq: number;
  count: number;
  /** Hash of seq fromSeq-1 (the genesis hash when fromSeq is 1): where the range attaches. */
  fromPrevHash: string;
  /** Hash of seq toSeq. */
  lastHash: string;
  /** ISO times with milliseconds. */
  periodStart: string;
  periodEnd: string;
  /** Signature of this node's previous digest; null for the first. */
  previousDigestSignature: string | null;
  /** hex SHA-256 of the signing public key (SPKI DER). */
  publicKeyFingerprint: string;
  /** base64 Ed25519 signature over signingPayload(digest). */
  signature: string;
}

export type UnsignedDigest = Omit<AuditDigest, 'signature' | 'publicKeyFingerprint' | 'version'>;

const DOMAIN = 'rekey-audit-digest-v1\n';

/** The exact bytes signed: a domain tag, then canonical JSON of every field but the signature. */
export function signingPayload(d: Omit<AuditDigest, 'signature'>): string {
  const { version, node, fromSeq, toSeq, count, fromPrevHash, lastHash, periodStart, periodEnd, previousDigestSignature, publicKeyFingerprint: fp } = d;
  return DOMAIN + canonicalJson({ version, node, fromSeq, toSeq, count, fromPrevHash, lastHash, periodStart, periodEnd, previousDigestSignature, publicKeyFingerprint: fp });
}

interface SigningKeyRecord {
  version: 1;
  /** base64 PKCS#8 DER. */
  privateKey: string;
  publicKeyPem: string;
  fingerprint: string;
  createdAt: string;
}

export interface AuditPublicKey {
  pem: string;
  fingerprint: string;
}

/** Holds the signing key inside OpenSSL (see crypto/sign.ts); the PKCS#8 bytes are zeroed after import. */
export class DigestSigner {
  private constructor(private readonly signer: Ed25519Signer, readonly publicKey: AuditPublicKey) {}

  /** Loads the node-shared signing key, generating and storing it (CAS: first writer wins) on first use. */
  static async loadOrCreate(barrier: Barrier, now: Date = new Date()): Promise<DigestSigner> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const found = await barrier.getJSON<SigningKeyRecord>(SIGNING_KEY_PATH);
      if (found) return DigestSigner.fromRecord(found.value);
      const pair = generateEd25519();
      const rec: SigningKeyRecord = {
        version: 1,
        privateKey: pair.privateKeyPkcs8.toString('base64'),
        publicKeyPem: publicKeyToPem(pair.publicKeySpki),
        fingerprint: publicKeyFingerprint(pair.publicKeySpki),
        createdAt: now.toISOString(),
      };
      zeroize(pair.privateKeyPkcs8);
      try {
        await barrier.putJSON(SIGNING_KEY_PATH, rec, { expectVersion: 0 });
        return DigestSigner.fromRecord(rec);
      } catch (e) {
        if (!(e instanceof CasConflict)) throw e; // another node created it first: read theirs
      }
    }
    throw new Error('audit signing key: could not create or read it');
  }

  private static fromRecord(rec: SigningKeyRecord): DigestSigner {
    const der = Buffer.from(rec.privateKey, 'base64');
    try {
      const signer = ed25519Signer(der);
      const fingerprint = publicKeyFingerprint(signer.publicKeySpki);
      return new DigestSigner(signer, { pem: publicKeyToPem(signer.publicKeySpki), fingerprint });
    } finally {
      zeroize(der);
    }
  }

  /** Signs another statement (an audit checkpoint); `payload` must begin with its own domain tag. */
  signPayload(payload: string): string {
    return this.signer.sign(payload).toString('base64');
  }

  sign(d: UnsignedDigest): AuditDigest {
    const body = { version: 1 as const, ...d, publicKeyFingerprint: this.publicKey.fingerprint };
    return { ...body, signature: this.signer.sign(signingPayload(body)).toString('base64') };
  }
}

/** The public key only (for verify and export); null before the first server start created it. */
export async function readPublicKey(barrier: Barrier): Promise<AuditPublicKey | null> {
  const found = await barrier.getJSON<SigningKeyRecord>(SIGNING_KEY_PATH);
  if (!found) return null;
  return { pem: found.value.publicKeyPem, fingerprint: found.value.fingerprint };
}

/** Parses an operator-supplied PEM (e.g. `--public-key`); throws InvalidSigningKey if it is not Ed25519. */
export function parsePublicKeyPem(pem: string): AuditPublicKey {
  const spki = publicKeyFromPem(pem);
  return { pem: publicKeyToPem(spki), fingerprint: publicKeyFingerprint(spki) };
}

export type DigestCheck = 'ok' | 'wrong-key' | 'bad-signature' | 'malformed';

/** Checks one digest's signature against the trusted public key. */
export function checkDigestSignature(d: AuditDigest, key: AuditPublicKey): DigestCheck {
  if (!isDigest(d)) return 'malformed';
  if (d.publicKeyFingerprint !== key.fingerprint) return 'wrong-key';
  try {
    return ed25519Verify(key.pem, signingPayload(d), Buffer.from(d.signature, 'base64')) ? 'ok' : 'bad-signature';
  } catch (e) {
    if (e instanceof InvalidSigningKey) throw e;
    return 'bad-signature';
  }
}

/** Checks a signature made by signPayload against the trusted public key. */
export function checkPayloadSignature(payload: string, signature: string, fingerprint: string, key: AuditPublicKey): DigestCheck {
  if (fingerprint !== key.fingerprint) return 'wrong-key';
  try {
    return ed25519Verify(key.pem, payload, Buffer.from(signature, 'base64')) ? 'ok' : 'bad-signature';
  } catch (e) {
    if (e instanceof InvalidSigningKey) throw e;
    return 'bad-signature';
  }
}

export function isDigest(v: unknown): v is AuditDigest {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  return d.version === 1 && typeof d.node === 'string' && Number.isSafeInteger(d.fromSeq) && Number.isSafeInteger(d.toSeq)
    && Number.isSafeInteger(d.count) && typeof d.fromPrevHash === 'string' && typeof d.lastHash === 'string'
    && typeof d.periodStart === 'string' && typeof d.periodEnd === 'string' && typeof d.signature === 'string'
    && typeof d.publicKeyFingerprint === 'string' && (d.previousDigestSignature === null || typeof d.previousDigestSignature === 'string');
}

/** Stores a digest (never overwrites: a digest for a given toSeq is written once). */
export async function saveDigest(barrier: Barrier, d: AuditDigest): Promise<void> {
  await barrier.putJSON(digestPath(d.node, d.toSeq), d, { expectVersion: 0 });
}

/** A node's stored digests with toSeq in [minToSeq, maxToSeq], in order. Unreadable ones are returned as null entries. */
export async function loadDigests(barrier: Barrier, node: string, minToSeq = 0, maxToSeq = Number.MAX_SAFE_INTEGER): Promise<{ toSeq: number; digest: AuditDigest | null }[]> {
  const keys = await barrier.list(digestsPrefix(node));
  const out: { toSeq: number; digest: AuditDigest | null }[] = [];
  for (const key of keys) {
    const toSeq = seqOfPath(key);
    if (toSeq < minToSeq || toSeq > maxToSeq) continue;
    let digest: AuditDigest | null = null;
    try {
      const got = await barrier.getJSON<unknown>(key);
      digest = got && isDigest(got.value) ? got.value : null;
    } catch {
      digest = null; // fails barrier authentication: reported by the verifier as a forged digest
    }
    out.push({ toSeq, digest });
  }
  return out;
}

/**
 * The most recent readable digest of a node, or null. An unreadable (tampered) latest digest is
 * skipped rather than fatal: the log continues from the one before, and the verifier reports it.
 */
export async function lastDigest(barrier: Barrier, node: string): Promise<AuditDigest | null> {
  const keys = await barrier.list(digestsPrefix(node));
  for (let i = keys.length - 1; i >= 0; i--) {
    try {
      const got = await barrier.getJSON<unknown>(keys[i]!);
      if (got && isDigest(got.value)) return got.value;
    } catch {
      // fall through to the previous one
    }
  }
  return null;
}
