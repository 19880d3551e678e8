// ListKeyRotations: completed rotations (or, with ALL_KEY_MATERIAL, every material version), oldest first.
import { operation } from '../context.ts';
import { wireDate, type KeyMaterialRecord } from '../model.ts';
import { InvalidMarkerException } from '../../errors.ts';
import { decodeMarker, INVALID_MARKER_MESSAGE, pageSize, pageTail } from '../pagination.ts';
import { resolveKey } from '../resolve.ts';
import { S, T } from '../../validation/request.ts';
import { INCLUDE_KEY_MATERIAL, type ListKeyRotationsRequest, type RotationsListEntry } from '../wire.ts';

export const listKeyRotations = operation<ListKeyRotationsRequest>({
  name: 'ListKeyRotations',
  input: S.struct({ KeyId: T.KeyId, IncludeKeyMaterial: S.enum(INCLUDE_KEY_MATERIAL), Limit: T.Limit, Marker: T.Marker }, ['KeyId']),
  async run(ctx, req, call) {
    const limit = pageSize(req.Limit, 100, 1000);
    const key = await resolveKey(ctx, req.KeyId, 'key');
    await call.authz.key(key, 'kms:ListKeyRotations');
    const keyId = key.record.keyId;
    const rec = key.record;
    // AWS KMS: by default (ROTATIONS_ONLY) "KMS returns information on the key materials created by
    // automatic or on-demand key rotation"; ALL_KEY_MATERIAL adds the first key material.
    const all = req.IncludeKeyMaterial === 'ALL_KEY_MATERIAL';
    const list = rec.materials.filter((m) => all || m.rotationType !== null);
    const listing = `ListKeyRotations:${keyId}:${all ? 'all' : 'rotations'}`;
    const after = decodeMarker(listing, req.Marker);
    let from = 0;
    if (after !== undefined) {
      from = list.findIndex((m) => m.id === after) + 1;
      if (from === 0) throw new InvalidMarkerException(INVALID_MARKER_MESSAGE);
    }
    const page = list.slice(from, from + limit);
    const entry = (m: KeyMaterialRecord): RotationsListEntry => ({
      KeyId: rec.keyId,
      KeyMaterialId: m.id,
      KeyMaterialState: m.id === rec.currentMaterialId ? 'CURRENT' : 'NON_CURRENT',
      // "This field is not present for the first key material."
      ...(m.rotationType !== null ? { RotationDate: wireDate(m.createdAt), RotationType: m.rotationType } : {}),
    });
    return { Rotations: page.map(entry), ...pageTail(listing, from + limit < list.length, page[page.length - 1]?.id) };
  },
});
