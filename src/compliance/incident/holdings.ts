// What rekey holds under a key, and re-wrapping it to the key's current material.
//
// A holder finds the ciphertexts one component keeps under a key and re-encrypts those made with
// compromised material. Secrets are handled here (their values are KMS ciphertexts behind the
// barrier, src/secrets/model.ts); database instances' volume keys and snapshots' data keys come
// through the same interface from src/db/incident-holdings.ts (wired by src/server/start.ts).
//
// Re-wrapping changes the KEY MATERIAL a stored ciphertext is made with, not the plaintext under it
// (a secret's value, an instance's volume key): whoever held the old material AND a copy of the old
// ciphertext can still recover that plaintext. The report says so; for databases the full remedy is
// `rekey db change-key` (a new volume key on a new volume).
import { zeroize } from '../../crypto/index.ts';
import type { Op } from '../../storage/backend.ts';
import type { Barrier } from '../../storage/barrier.ts';
import { materialIdOf } from '../../kms/ciphertext.ts';
import type { KmsService } from '../../kms/service.ts';
import { SECRET_PREFIX, valueContext, valuePath, type SecretRecord, type StoredValue } from '../../secrets/model.ts';
import type { Holding } from './model.ts';
import { listAllKeys } from '../../storage/list-all.ts';

/** One component's holdings under a key (the port src/db implements for instances and snapshots). */
export interface KeyHolder {
  name: string;
  /** Everything this component keeps under the key (keyId: the bare key id). */
  list(keyId: string): Promise<Holding[]>;
  /**
   * Re-wraps `h` to the key's current material when one of its ciphertexts uses a material in
   * `compromised`; idempotent (already re-wrapped: returns the holding as it is now). Either writes
   * itself (compare-and-swap) or returns `ops` for the caller to commit with its step.
   */
  rewrap(h: Holding, keyId: string, compromised: ReadonlySet<string>): Promise<{ holding: Holding; ops?: Op[] }>;
}



/** Secret values (every version, and the older ciphertexts a key change kept) under the key. */
export function secretsHolder(barrier: Barrier, kms: KmsService): KeyHolder {
  const blobsOf = (v: StoredValue): string[] => [v.blob, ...(v.previous ?? [])];
  return {
    name: 'secrets',
    async list(keyId) {
      const out: Holding[] = [];
      for (const path of await listAllKeys(barrier, SECRET_PREFIX)) {
        const rec = (await barrier.getJSON<SecretRecord>(path))?.value;
        if (!rec) continue;
        for (const vid of Object.keys(rec.versions)) {
          const stored = (await barrier.getJSON<StoredValue>(valuePath(rec.uid, vid)))?.value;
          if (!stored) continue;
          const materialIds = [...new Set(blobsOf(stored).map((b) => materialIdOf(b, keyId)).filter((m): m is string => m !== null))];
          if (materialIds.length > 0) out.push({ type: 'secret-version', arn: rec.arn, id: `${rec.name}:${vid}`, materialIds });
        }
      }
      return out;
    },
    async rewrap(h, keyId, compromised) {
      const sep = h.id.lastIndexOf(':');
      const name = h.id.slice(0, sep);
      const vid = h.id.slice(sep + 1);
      const rec = (await barrier.getJSON<SecretRecord>(SECRET_PREFIX + name))?.value;
      const got = rec ? await barrier.getJSON<StoredValue>(valuePath(rec.uid, vid)) : null;
      if (!rec || !got || rec.arn !== h.arn) return { holding: { ...h, materialIds: [], note: 'gone (deleted meanwhile)' } };
      const ctx = valueContext(rec.arn, vid);
      let changed = false;
      const again = async (blob: string): Promise<string> => {
        const m = materialIdOf(blob, keyId);
        if (m === null || !compromised.has(m)) return blob;
        const { plaintext } = await kms.decryptInternal(Buffer.from(blob, 'base64'), ctx);
        try {
          changed = true;
          return (await kms.encryptInternal(keyId, plaintext, ctx)).blob.toString('base64');
        } finally {
          zeroize(plaintext);
        }
      };
      const next: StoredValue = { blob: await again(got.value.blob), ...(got.value.previous ? { previous: await Promise.all(got.value.previous.map(again)) } : {}) };
      const holding: Holding = { ...h, materialIds: [...new Set(blobsOf(next).map((b) => materialIdOf(b, keyId)).filter((m): m is string => m !== null))] };
      if (!changed) return { holding };
      // committed with the step's result, under the value's compare-and-swap (a concurrent write retries the step)
      return { holding, ops: [{ type: 'put', key: valuePath(rec.uid, vid), value: Buffer.from(JSON.stringify(next)), expectVersion: got.version }] };
    },
  };
}
