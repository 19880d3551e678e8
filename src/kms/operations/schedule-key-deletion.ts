// ScheduleKeyDeletion: the key becomes PendingDeletion for 7-30 days (default 30).
// The key record's write adds its kms/deletion-due/ entry (KeyStore.updateKey); the kms.delete job
// deletes the key at DeletionDate (src/kms/lifecycle/delete.ts, docs/ROTATION.md).
import { ValidationException } from '../../errors.ts';
import { keyNotFound, nowMs, operation, requireNotPendingDeletion } from '../context.ts';
import { KeyState, wireDate } from '../model.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { ScheduleKeyDeletionRequest } from '../wire.ts';

const DAY_MS = 86_400_000;

export const scheduleKeyDeletion = operation<ScheduleKeyDeletionRequest>({
  name: 'ScheduleKeyDeletion',
  // The service model allows 1-365; the service itself accepts 7-30.
  input: S.struct({ KeyId: T.KeyId, PendingWindowInDays: S.integer({ min: 1, max: 365 }) }, ['KeyId']),
  async run(ctx, req, call) {
    // AWS KMS: "This value is optional. If you include a value, it must be between 7 and 30, inclusive.
    // If you do not include a value, it defaults to 30."
    const days = req.PendingWindowInDays ?? 30;
    // AWS's answer as logged from a real call (Skyscanner/kms-issuer issue 8: "ValidationException:
    // PendingWindowInDays must be between 7 and 30"); LocalStack's snapshots do not record it.
    if (days < 7 || days > 30) throw new ValidationException('PendingWindowInDays must be between 7 and 30');
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:ScheduleKeyDeletion');
    const keyId = key.record.keyId;
    const dependents = await ctx.lifecycle?.dependentsOf(keyId);
    const rec = await ctx.store.updateKey(keyId, (r) => {
      // AWS managed keys cannot be deleted; rekey: nor a key its resources use (the admin API can force it).
      ctx.lifecycle?.guard(r, 'ScheduleKeyDeletion', dependents);
      // AWS KMS key states: ScheduleKeyDeletion on a key already pending deletion -> KMSInvalidStateException.
      requireNotPendingDeletion(r);
      r.state = KeyState.PendingDeletion;
      r.deletionDate = nowMs(ctx) + days * DAY_MS;
      r.pendingWindowInDays = days;
    }, () => keyNotFound(ctx, keyId));
    return { KeyId: rec.arn, DeletionDate: wireDate(rec.deletionDate!), KeyState: rec.state, PendingWindowInDays: days };
  },
});
