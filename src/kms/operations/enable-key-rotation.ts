// EnableKeyRotation: turns on automatic rotation every RotationPeriodInDays (90-2560, default 365).
// The key record's write moves its kms/rotation-due/ entry (KeyStore.updateKey); the kms.rotate job
// rotates the key on its NextRotationDate (src/kms/lifecycle, docs/ROTATION.md).
import { keyNotFound, nowMs, operation, requireEnabled } from '../context.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { EnableKeyRotationRequest } from '../wire.ts';

export const DAY_MS = 86_400_000;
export const DEFAULT_ROTATION_PERIOD_DAYS = 365;

export const enableKeyRotation = operation<EnableKeyRotationRequest>({
  name: 'EnableKeyRotation',
  input: S.struct({ KeyId: T.KeyId, RotationPeriodInDays: S.integer({ min: 90, max: 2560 }) }, ['KeyId']),
  async run(ctx, req, call) {
    // AWS KMS: "If no value is specified, the default value is 365 days."
    const period = req.RotationPeriodInDays ?? DEFAULT_ROTATION_PERIOD_DAYS;
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:EnableKeyRotation');
    const keyId = key.record.keyId;
    await ctx.store.updateKey(keyId, (rec) => {
      // AWS KMS: "Key material rotation of AWS managed KMS keys is not configurable."
      ctx.lifecycle?.guard(rec, 'EnableKeyRotation');
      // AWS KMS key states: EnableKeyRotation on a Disabled key -> DisabledException; PendingDeletion -> KMSInvalidStateException.
      requireEnabled(rec);
      // AWS KMS: "The rotation period defines the number of days after you enable automatic key
      // rotation that KMS will rotate your key material, and the number of days between each
      // automatic rotation thereafter."
      rec.rotation = { ...rec.rotation, enabled: true, periodDays: period, nextRotationDate: nowMs(ctx) + period * DAY_MS };
    }, () => keyNotFound(ctx, keyId));
    return {};
  },
});
