// Where the key lifecycle lives in storage, and the due indexes derived from a key record.
//
//   kms/rotation-due/<nextRotationDate ISO>/<keyId>   one entry per Enabled key with automatic rotation on
//   kms/deletion-due/<deletionDate ISO>/<keyId>       one entry per key pending deletion
//   kms/usage/<keyId>/<materialId>                    usage counters of one material version (budgets)
//   kms/dependents/<keyId>/<id>                       one entry per registered dependent resource
//
// The two due indexes are a pure function of the key record (lifecycleIndexPaths) and are moved in
// the same transaction as every write of the record that changes them (KeyStore.updateKey/createKey,
// the rotation and deletion jobs, service-key creation), so they can never disagree with it.
// ISO timestamps from toISOString() are fixed width and sort like time, so "what is due" is a range
// read from the start of the index up to now: its cost follows the number of due keys.
import type { Op } from '../../storage/backend.ts';
import { sortableTime, ISO_LENGTH } from '../../jobs/model.ts';
import { KeyState, type KeyRecord } from '../model.ts';

export const ROTATION_DUE_PREFIX = 'kms/rotation-due/';
export const DELETION_DUE_PREFIX = 'kms/deletion-due/';
export const USAGE_PREFIX = 'kms/usage/';
export const DEPENDENTS_PREFIX = 'kms/dependents/';

export const rotationDuePath = (at: number, keyId: string): string => `${ROTATION_DUE_PREFIX}${sortableTime(at)}/${keyId}`;
export const deletionDuePath = (at: number, keyId: string): string => `${DELETION_DUE_PREFIX}${sortableTime(at)}/${keyId}`;
export const usagePrefix = (keyId: string): string => `${USAGE_PREFIX}${keyId}/`;
export const usagePath = (keyId: string, materialId: string): string => `${USAGE_PREFIX}${keyId}/${materialId}`;
export const dependentsPrefix = (keyId: string): string => `${DEPENDENTS_PREFIX}${keyId}/`;

/**
 * The due-index entries a key record must have. AWS KMS: "While a KMS key is disabled, AWS KMS
 * does not rotate it" and "While a KMS key is pending deletion, AWS KMS does not rotate it": only
 * Enabled keys are in the rotation index. Re-enabling the key puts it back with its unchanged
 * NextRotationDate; "if the key material is past its scheduled rotation date, AWS KMS rotates it
 * immediately".
 */
export function lifecycleIndexPaths(rec: Pick<KeyRecord, 'keyId' | 'state' | 'rotation' | 'deletionDate'>): string[] {
  const out: string[] = [];
  if (rec.state === KeyState.Enabled && rec.rotation.enabled && rec.rotation.nextRotationDate !== null) {
    out.push(rotationDuePath(rec.rotation.nextRotationDate, rec.keyId));
  }
  if (rec.state === KeyState.PendingDeletion && rec.deletionDate !== null) out.push(deletionDuePath(rec.deletionDate, rec.keyId));
  return out;
}

const EMPTY_JSON = '{}';

/** Ops that turn the index entries `before` into `after` (values are `{}`; plaintext, for Barrier.transaction). */
export function indexMoveOps(before: readonly string[], after: readonly string[]): Op[] {
  const ops: Op[] = [];
  for (const p of before) if (!after.includes(p)) ops.push({ type: 'delete', key: p });
  for (const p of after) if (!before.includes(p)) ops.push({ type: 'put', key: p, value: Buffer.from(EMPTY_JSON) });
  return ops;
}

export interface IndexEntry {
  key: string;
  /** ISO time of the entry. */
  at: string;
  keyId: string;
}

/** Splits `<prefix><ISO>/<keyId>`; null for anything else. */
export function parseIndexKey(prefix: string, key: string): IndexEntry | null {
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  if (rest.length <= ISO_LENGTH + 1 || rest[ISO_LENGTH] !== '/') return null;
  return { key, at: rest.slice(0, ISO_LENGTH), keyId: rest.slice(ISO_LENGTH + 1) };
}
