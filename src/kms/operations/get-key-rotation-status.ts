// GetKeyRotationStatus: whether automatic rotation is on, its period and next date; any key state.
import { operation } from '../context.ts';
import { wireDate } from '../model.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import type { KeyIdRequest } from '../wire.ts';

export const getKeyRotationStatus = operation<KeyIdRequest>({
  name: 'GetKeyRotationStatus',
  input: S.struct({ KeyId: T.KeyId }, ['KeyId']),
  async run(ctx, req, call) {
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:GetKeyRotationStatus');
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
