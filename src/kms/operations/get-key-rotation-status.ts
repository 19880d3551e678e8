// GetKeyRotationStatus: whether automatic rotation is on, its period and next date; any key state.
import { keyNotFound, operation } from '../context.ts';
import { wireDate } from '../model.ts';
import { resolveKeyId } from '../resolve.ts';
import { S, T } from '../validate.ts';
import type { KeyIdRequest } from '../wire.ts';

export const getKeyRotationStatus = operation<KeyIdRequest>({
  name: 'GetKeyRotationStatus',
  input: S.struct({ KeyId: T.KeyId }, ['KeyId']),
  async run(ctx, req) {
    const keyId = await resolveKeyId(ctx, req.KeyId, 'key');
    const key = await ctx.store.getKey(keyId);
    if (!key) throw keyNotFound(ctx, keyId);
    const r = key.record.rotation;
    return {
      KeyRotationEnabled: r.enabled,
      KeyId: key.record.arn,
      ...(r.enabled && r.periodDays !== null ? { RotationPeriodInDays: r.periodDays } : {}),
      ...(r.enabled && r.nextRotationDate !== null ? { NextRotationDate: wireDate(r.nextRotationDate) } : {}),
      // AWS KMS: "Identifies the date and time that an in progress on-demand rotation was initiated ...
      // Once the on-demand rotation is complete, KMS removes this field from the response."
      ...(r.onDemandStartDate !== null ? { OnDemandRotationStartDate: wireDate(r.onDemandStartDate) } : {}),
    };
  },
});
