// Encryption and decryption under a KMS key, shared by Encrypt, Decrypt, ReEncrypt and the
// GenerateDataKey operations.
import { IncorrectKeyException, InvalidKeyUsageException, UnsupportedOperationException, ValidationException } from '../errors.ts';
import { canonicalContext, invalidCiphertext, openCiphertext, parseCiphertext, sealCiphertext } from './ciphertext.ts';
import { requireEnabled, type KmsContext } from './context.ts';
import type { LoadedKey } from './keystore.ts';
import { resolveKey } from './resolve.ts';
import type { EncryptionContext } from './wire.ts';

/** AWS KMS's message when Decrypt's KeyId names another key than the one in the ciphertext. */
export const INCORRECT_KEY_MESSAGE = 'The key ID in the request does not identify a CMK that can perform this operation.';

/**
 * AWS KMS: symmetric encryption KMS keys use SYMMETRIC_DEFAULT; the RSAES/SM2 algorithms belong to
 * asymmetric keys (which rekey does not create).
 */
export function checkAlgorithm(alg: string | undefined): void {
  if (alg !== undefined && alg !== 'SYMMETRIC_DEFAULT') {
    throw new InvalidKeyUsageException(`Algorithm ${alg} is incompatible with key spec SYMMETRIC_DEFAULT.`);
  }
}

/** rekey has no Nitro enclave attestation; refuse rather than return the plaintext unwrapped. */
export function rejectRecipient(recipient: unknown): void {
  if (recipient !== undefined) throw new UnsupportedOperationException('The Recipient parameter (attested enclaves) is not supported by rekey.');
}

export interface Sealed {
  blob: Buffer;
  materialId: string;
}

/** Encrypts under the key's current material. Call right after loading the key (no await in between). */
export function encryptWith(key: LoadedKey, plaintext: Uint8Array, context: EncryptionContext | undefined): Sealed {
  const m = key.current();
  const blob = sealCiphertext({ keyIdBytes: key.keyIdBytes, materialIdBytes: m.idBytes, material: m.material, plaintext, context: canonicalContext(context) });
  return { blob, materialId: m.id };
}

/** Authorizes the caller on a key (src/kms/authz.ts); throws AccessDeniedException. */
export type Authorize = (key: LoadedKey) => Promise<unknown>;

export interface Opened {
  key: LoadedKey;
  plaintext: Buffer;
  materialId: string;
}

/**
 * Decrypts a blob. The key comes from the blob itself; `keyIdParam` (optional, any identifier form)
 * must name the same key or the request fails with IncorrectKeyException, as in AWS KMS.
 * Every other failure - malformed blob, unknown key or material, tag or context mismatch - is the
 * one fixed InvalidCiphertextException; a disabled or pending-deletion key gives its state error.
 */
export async function decryptBlob(ctx: KmsContext, blob: Buffer, context: EncryptionContext | undefined, keyIdParam: string | undefined, authorize: Authorize): Promise<Opened> {
  const parsed = parseCiphertext(blob);
  if (keyIdParam !== undefined) {
    const named = await resolveKey(ctx, keyIdParam, 'any');
    if (named.record.keyId !== parsed.keyId) throw new IncorrectKeyException(INCORRECT_KEY_MESSAGE);
  }
  const key = await ctx.store.getKey(parsed.keyId);
  if (!key) throw invalidCiphertext();
  // Authorized on the key the ciphertext names, before its state or the ciphertext is examined.
  await authorize(key);
  requireEnabled(key.record);
  const m = key.material(parsed.materialId);
  if (!m) throw invalidCiphertext();
  const plaintext = openCiphertext(parsed, m.material, canonicalContext(context));
  return { key, plaintext, materialId: m.id };
}

/**
 * AWS KMS: CiphertextBlob "is required in all cases except when DryRun is true and DryRunModifiers
 * is set to IGNORE_CIPHERTEXT"; then the key must be named instead. Returns the blob, or null for
 * such a dry run (after checking that the named key could be used).
 */
export async function ciphertextOrDryRun(
  ctx: KmsContext,
  req: { CiphertextBlob?: Buffer; DryRun?: boolean; DryRunModifiers?: string[] },
  keyIdMember: 'keyId' | 'sourceKeyId',
  keyId: string | undefined,
  authorize: Authorize,
): Promise<Buffer | null> {
  if (req.CiphertextBlob !== undefined) return req.CiphertextBlob;
  const ignore = req.DryRun === true && (req.DryRunModifiers ?? []).includes('IGNORE_CIPHERTEXT');
  if (!ignore) throw new ValidationException("1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null");
  if (keyId === undefined) throw new ValidationException(`1 validation error detected: Value null at '${keyIdMember}' failed to satisfy constraint: Member must not be null`);
  const key = await resolveKey(ctx, keyId, 'any');
  await authorize(key);
  requireEnabled(key.record);
  return null;
}
