// CancelKeyDeletion: PendingDeletion -> Disabled. The write removes the kms/deletion-due/ entry, so no
// deletion job is created; one already created finds the key no longer pending deletion and does nothing.
import { KMSInvalidStateException } from '../../errors.ts';
import { keyNotFound, operation } from '../context.ts';
import { KeyState } from '../model.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { KeyIdRequest } from '../wire.ts';

export const cancelKeyDeletion = operation<KeyIdRequest>({
  name: 'CancelKeyDeletion',
  input: S.struct({ KeyId: T.KeyId }, ['KeyId']),
  async run(ctx, req, call) {
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:CancelKeyDeletion');
    const keyId = key.record.keyId;
    const rec = await ctx.store.updateKey(keyId, (r) => {
      // AWS KMS key states: CancelKeyDeletion works only on a key pending deletion.
      if (r.state !== KeyState.PendingDeletion) throw new KMSInvalidStateException(`${r.arn} is not pending deletion.`);
      // AWS KMS: "When this operation succeeds, the key state of the KMS key is Disabled."
      r.state = KeyState.Disabled;
      r.deletionDate = null;
      r.pendingWindowInDays = null;
    }, () => keyNotFound(ctx, keyId));
    return { KeyId: rec.arn };
  },
});
