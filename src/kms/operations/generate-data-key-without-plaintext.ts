// GenerateDataKeyWithoutPlaintext: like GenerateDataKey, but only the encrypted data key is returned.
import { zeroize } from '../../crypto/index.ts';
import { operation } from '../context.ts';
import type { GenerateDataKeyRequest } from '../wire.ts';
import { dataKeyInput, makeDataKey } from './generate-data-key.ts';

export const generateDataKeyWithoutPlaintext = operation<GenerateDataKeyRequest>({
  name: 'GenerateDataKeyWithoutPlaintext',
  input: dataKeyInput,
  async run(ctx, req, call) {
    const { key, plaintext, sealed } = await makeDataKey(ctx, req, call, 'kms:GenerateDataKeyWithoutPlaintext');
    zeroize(plaintext);
    return { CiphertextBlob: sealed.blob.toString('base64'), KeyId: key.record.arn, KeyMaterialId: sealed.materialId };
  },
});
