// GenerateDataKey: a random data key, returned in plaintext and encrypted under a KMS key.
import { randomBytes, zeroize } from '../../crypto/index.ts';
import { DryRunOperationException, ValidationException } from '../../errors.ts';
import { operation, requireEnabled, type KmsCall, type KmsContext } from '../context.ts';
import { encryptWith, rejectRecipient, type Sealed } from '../envelope.ts';
import type { LoadedKey } from '../keystore.ts';
import { requestAliasOf, resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import { DATA_KEY_SPECS, type GenerateDataKeyRequest } from '../wire.ts';
import { DRY_RUN_MESSAGE } from './encrypt.ts';

export const dataKeyInput = S.struct({
  KeyId: T.KeyId,
  EncryptionContext: T.EncryptionContext,
  NumberOfBytes: T.NumberOfBytes,
  KeySpec: S.enum(DATA_KEY_SPECS),
  GrantTokens: T.GrantTokens,
  Recipient: T.Recipient,
  DryRun: T.Boolean,
}, ['KeyId']);

/**
 * Shared by GenerateDataKey and GenerateDataKeyWithoutPlaintext: checks the request, creates the
 * data key and encrypts it. The caller zeroes `plaintext`.
 */
export async function makeDataKey(ctx: KmsContext, req: GenerateDataKeyRequest, call: KmsCall, action: string): Promise<{ key: LoadedKey; plaintext: Buffer; sealed: Sealed }> {
  rejectRecipient(req.Recipient);
  // AWS KMS: "To specify the length of the data key, use either the KeySpec or NumberOfBytes
  // parameters (but not both). For 128-bit and 256-bit data keys, use the KeySpec parameter."
  if (req.KeySpec !== undefined && req.NumberOfBytes !== undefined) {
    throw new ValidationException('KeySpec and NumberOfBytes are mutually exclusive. Specify either KeySpec or NumberOfBytes, but not both.');
  }
  if (req.KeySpec === undefined && req.NumberOfBytes === undefined) {
    throw new ValidationException('Please specify either number of bytes or key spec.');
  }
  const size = req.NumberOfBytes ?? (req.KeySpec === 'AES_128' ? 16 : 32);
  const key = await resolveKey(ctx, req.KeyId, 'any');
  await call.authz.key(key, action, { encryptionContext: req.EncryptionContext, requestAlias: requestAliasOf(req.KeyId), grantTokens: req.GrantTokens });
  requireEnabled(key.record);
  if (req.DryRun === true) throw new DryRunOperationException(DRY_RUN_MESSAGE);
  const plaintext = randomBytes(size);
  try {
    const sealed = encryptWith(key, plaintext, req.EncryptionContext);
    ctx.lifecycle?.recordUse(key.record, size); // usage budgets (src/kms/lifecycle/usage.ts)
    return { key, plaintext, sealed };
  } catch (e) {
    zeroize(plaintext);
    throw e;
  }
}

export const generateDataKey = operation<GenerateDataKeyRequest>({
  name: 'GenerateDataKey',
  input: dataKeyInput,
  async run(ctx, req, call) {
    const { key, plaintext, sealed } = await makeDataKey(ctx, req, call, 'kms:GenerateDataKey');
    try {
      return { CiphertextBlob: sealed.blob.toString('base64'), Plaintext: plaintext.toString('base64'), KeyId: key.record.arn, KeyMaterialId: sealed.materialId };
    } finally {
      zeroize(plaintext);
    }
  },
});
