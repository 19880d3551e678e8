// DisableKeyRotation: turns automatic rotation off (on-demand rotation stays available).
import { keyNotFound, operation, requireEnabled } from '../context.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { KeyIdRequest } from '../wire.ts';

export const disableKeyRotation = operation<KeyIdRequest>({
  name: 'DisableKeyRotation',
  input: S.struct({ KeyId: T.KeyId }, ['KeyId']),
  async run(ctx, req, call) {
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:DisableKeyRotation');
    const keyId = key.record.keyId;
    await ctx.store.updateKey(keyId, (rec) => {
      // AWS KMS: "Key material rotation of AWS managed KMS keys is not configurable."
      ctx.lifecycle?.guard(rec, 'DisableKeyRotation');
      // AWS KMS key states: DisableKeyRotation on a Disabled key -> DisabledException; PendingDeletion -> KMSInvalidStateException.
      requireEnabled(rec);
      if (!rec.rotation.enabled) return false;
      rec.rotation = { ...rec.rotation, enabled: false, periodDays: null, nextRotationDate: null };
      return true;
    }, () => keyNotFound(ctx, keyId));
    return {};
  },
});
