// RotateKeyOnDemand: adds a new current key material version at once (RotationType ON_DEMAND).
// Older versions stay for decryption; the automatic rotation schedule is not moved.
import { LimitExceededException } from '../../errors.ts';
import { keyNotFound, nowMs, operation, requireEnabled } from '../context.ts';
import { newKeyMaterial } from '../material.ts';
import { RotationType } from '../model.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { KeyIdRequest } from '../wire.ts';

export const rotateKeyOnDemand = operation<KeyIdRequest>({
  name: 'RotateKeyOnDemand',
  input: S.struct({ KeyId: T.KeyId }, ['KeyId']),
  async run(ctx, req, call) {
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:RotateKeyOnDemand');
    const keyId = key.record.keyId;
    const rec = await ctx.store.updateKey(keyId, (r) => {
      // AWS KMS: "You can perform on-demand rotation of the key material in customer managed KMS keys".
      ctx.lifecycle?.guard(r, 'RotateKeyOnDemand');
      // AWS KMS key states: RotateKeyOnDemand on a Disabled key -> DisabledException; PendingDeletion -> KMSInvalidStateException.
      requireEnabled(r);
      // AWS KMS: on-demand rotations per key are limited (a quota), then LimitExceededException.
      if (r.rotation.onDemandCount >= ctx.onDemandRotationLimit) {
        // AWS's message (LocalStack tests/aws/services/kms/test_kms.snapshot.json, test_key_rotations_limits "error-response")
        throw new LimitExceededException(`The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${r.arn}`);
      }
      const m = newKeyMaterial(nowMs(ctx), RotationType.ON_DEMAND);
      r.materials.push(m);
      r.currentMaterialId = m.id;
      // "Performing on-demand key rotation doesn't change the automatic rotation schedule."
      r.rotation = { ...r.rotation, onDemandCount: r.rotation.onDemandCount + 1 };
    }, () => keyNotFound(ctx, keyId));
    return { KeyId: rec.arn };
  },
});
