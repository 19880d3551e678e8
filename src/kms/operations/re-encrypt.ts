// ReEncrypt: decrypts under the source key and encrypts under the destination key, in one call;
// the plaintext never leaves the service.
import { zeroize } from '../../crypto/index.ts';
import { DryRunOperationException } from '../../errors.ts';
import { operation, requireEnabled } from '../context.ts';
import { checkAlgorithm, ciphertextOrDryRun, decryptBlob, encryptWith } from '../envelope.ts';
import type { LoadedKey } from '../keystore.ts';
import { requestAliasOf, resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
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

  async run(ctx, req, call) {
    checkAlgorithm(req.SourceEncryptionAlgorithm);
    checkAlgorithm(req.DestinationEncryptionAlgorithm);
    // AWS KMS: ReEncrypt needs kms:ReEncryptFrom on the source key and kms:ReEncryptTo on the destination key.
    const from = (key: LoadedKey) => call.authz.key(key, 'kms:ReEncryptFrom', { encryptionContext: req.SourceEncryptionContext, requestAlias: requestAliasOf(req.SourceKeyId), grantTokens: req.GrantTokens });
    const to = (key: LoadedKey) => call.authz.key(key, 'kms:ReEncryptTo', { encryptionContext: req.DestinationEncryptionContext, requestAlias: requestAliasOf(req.DestinationKeyId), grantTokens: req.GrantTokens });
    const blob = await ciphertextOrDryRun(ctx, req, 'sourceKeyId', req.SourceKeyId, from);
    if (blob === null) {
      const dest = await resolveKey(ctx, req.DestinationKeyId, 'any');
      await to(dest);
      requireEnabled(dest.record);
      throw new DryRunOperationException(DRY_RUN_MESSAGE);
    }
    // AWS KMS: "If you identify a different KMS key [as SourceKeyId], the ReEncrypt operation throws an IncorrectKeyException."
    const source = await decryptBlob(ctx, blob, req.SourceEncryptionContext, req.SourceKeyId, from);
    try {
      const dest = await resolveKey(ctx, req.DestinationKeyId, 'any');
      await to(dest);
      requireEnabled(dest.record);
      if (req.DryRun === true) throw new DryRunOperationException(DRY_RUN_MESSAGE);
      const sealed = encryptWith(dest, source.plaintext, req.DestinationEncryptionContext);
      ctx.lifecycle?.recordUse(dest.record, source.plaintext.length); // usage budgets (src/kms/lifecycle/usage.ts)
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
