// New key material versions: 256 random bits and a random 64-hex-char KeyMaterialId.
import { randomBytes, zeroize } from '../crypto/index.ts';
import { newMaterialId } from './ids.ts';
import type { KeyMaterialRecord, RotationTypeName } from './model.ts';

export const MATERIAL_BYTES = 32;

export function newKeyMaterial(createdAt: number, rotationType: RotationTypeName | null): KeyMaterialRecord {
  const raw = randomBytes(MATERIAL_BYTES);
  try {
    return { id: newMaterialId(), material: raw.toString('base64'), createdAt, rotationType };
  } finally {
    zeroize(raw);
  }
}
