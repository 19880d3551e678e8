// One-time backfill of the due indexes for key records written before they existed (an upgrade):
// every key's lifecycleIndexPaths entries are written if missing, then a marker records that the
// store is indexed, so later starts skip the scan. Idempotent and safe on several nodes at once.
//
// A key that changes while this runs can be left with an extra, stale entry (read before its
// rotation, written after it). The job it offers finds the key's schedule different and removes
// the entry (rotate.ts, delete.ts), so nothing rotates or is deleted because of it.
import type { Barrier } from '../../storage/barrier.ts';
import type { KeyStore } from '../keystore.ts';
import { lifecycleIndexPaths } from './paths.ts';

export const INDEX_MARKER = 'kms/lifecycle-index';
export const INDEX_VERSION = 1;
const PAGE = 500;

export async function reindex(barrier: Barrier, store: KeyStore): Promise<{ scanned: number; written: number; skipped: boolean }> {
  const marker = await barrier.getJSON<{ version: number }>(INDEX_MARKER);
  if (marker && marker.value.version >= INDEX_VERSION) return { scanned: 0, written: 0, skipped: true };
  let scanned = 0;
  let written = 0;
  let after: string | undefined;
  for (;;) {
    const ids = await store.listKeyIds(after, PAGE);
    for (const id of ids) {
      const rec = await store.readKey(id);
      scanned++;
      if (!rec) continue;
      for (const p of lifecycleIndexPaths(rec.value)) {
        if (await barrier.get(p)) continue;
        await barrier.putJSON(p, {});
        written++;
      }
    }
    if (ids.length < PAGE) break;
    after = ids[ids.length - 1];
  }
  await barrier.putJSON(INDEX_MARKER, { version: INDEX_VERSION, at: new Date().toISOString() });
  return { scanned, written, skipped: false };
}
