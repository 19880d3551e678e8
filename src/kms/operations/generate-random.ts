// GenerateRandom: 1-1024 random bytes from the process's CSPRNG.
import { randomBytes, zeroize } from '../../crypto/index.ts';
import { UnsupportedOperationException, ValidationException } from '../../errors.ts';
import { operation } from '../context.ts';
import { rejectRecipient } from '../envelope.ts';
import { S, T } from '../../validation/request.ts';
import type { GenerateRandomRequest } from '../wire.ts';

export const generateRandom = operation<GenerateRandomRequest>({
  name: 'GenerateRandom',
  input: S.struct({ NumberOfBytes: T.NumberOfBytes, CustomKeyStoreId: T.CustomKeyStoreId, Recipient: T.Recipient }),
  async run(_ctx, req, call) {
    // AWS KMS: GenerateRandom needs kms:GenerateRandom in an IAM policy (resource "*").
    call.authz.account('kms:GenerateRandom');
    rejectRecipient(req.Recipient);
    if (req.CustomKeyStoreId !== undefined) throw new UnsupportedOperationException('Custom key stores are not supported by rekey.');
    // AWS KMS answers a request without NumberOfBytes with ValidationException "NumberOfBytes is required."
    if (req.NumberOfBytes === undefined) throw new ValidationException('NumberOfBytes is required.');
    const bytes = randomBytes(req.NumberOfBytes);
    try {
      return { Plaintext: bytes.toString('base64') };
    } finally {
      zeroize(bytes);
    }
  },
});
