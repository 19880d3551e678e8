// ReEncrypt: decrypts under the source key and encrypts under the destination key, in one call;
// the plaintext never leaves the service.
import { zeroize } from '../../crypto/index.ts';
import { DryRunOperationException } from '../../errors.ts';
import { operation, requireEnabled } from '../context.ts';
import { checkAlgorithm, ciphertextOrDryRun, decryptBlob, encryptWith } from '../envelope.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../validate.ts';
import type { ReEncryptRequest } from '../wire.ts';
import { DRY_RUN_MESSAGE } from './encrypt.ts';

export const reEncrypt = operation<ReEncryptRequest>({
  name: 'ReEncrypt',
  input: S.struct({
    CiphertextBlob: T.Ciphertext,
    SourceEncryptionContext: T.EncryptionContext,
    SourceKeyId: T.KeyId,
    DestinationKeyId: T.KeyId,
    DestinationEncryptionContext: T.EncryptionContext,
    SourceEncryptionAlgorithm: T.EncryptionAlgorithm,
    DestinationEncryptionAlgorithm: T.EncryptionAlgorithm,
    GrantTokens: T.GrantTokens,
    DryRun: T.Boolean,
    DryRunModifiers: T.DryRunModifiers,
  }, ['DestinationKeyId']),

  async run(ctx, req) {
    checkAlgorithm(req.SourceEncryptionAlgorithm);
    checkAlgorithm(req.DestinationEncryptionAlgorithm);
    const blob = await ciphertextOrDryRun(ctx, req, 'sourceKeyId', req.SourceKeyId);
    if (blob === null) {
      requireEnabled((await resolveKey(ctx, req.DestinationKeyId, 'any')).record);
      throw new DryRunOperationException(DRY_RUN_MESSAGE);
    }
    // AWS KMS: "If you identify a different KMS key [as SourceKeyId], the ReEncrypt operation throws an IncorrectKeyException."
    const source = await decryptBlob(ctx, blob, req.SourceEncryptionContext, req.SourceKeyId);
    try {
      const dest = await resolveKey(ctx, req.DestinationKeyId, 'any');
      requireEnabled(dest.record);
      if (req.DryRun === true) throw new DryRunOperationException(DRY_RUN_MESSAGE);
      const sealed = encryptWith(dest, source.plaintext, req.DestinationEncryptionContext);
      return {
        CiphertextBlob: sealed.blob.toString('base64'),
        SourceKeyId: source.key.record.arn,
        KeyId: dest.record.arn,
        SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        SourceKeyMaterialId: source.materialId,
        DestinationKeyMaterialId: sealed.materialId,
      };
    } finally {
      zeroize(source.plaintext);
    }
  },
});
