// Retention: delete stored events older than N days while keeping what remains verifiable.
//
// The chain can only be cut where a signed statement says what came before: at a digest. So the
// cut is made at the newest digest D whose period ended before the cutoff: D is recorded as the
// node's anchor FIRST, then every event with seq <= D.toSeq, its index entries and the older
// digests are deleted. Verification then starts from D (its signature is checked, and the first
// remaining event must have seq D.toSeq + 1 and prevHash D.lastHash). A crash half-way leaves
// some events below the anchor, which the verifier ignores and the next run deletes.
import type { Op } from '../storage/backend.ts';
import type { AuditDigest } from './digest.ts';
import { isDigest, loadDigests } from './digest.ts';
import { INDEX_PREFIX, anchorPath, digestPath, eventsPrefix, invertedMs, parseIndexPath, seqOfPath } from './paths.ts';
import type { StoreSink } from './sinks/store.ts';

export interface PruneResult {
  cutoff: string;
  nodes: { node: string; anchorSeq: number; deletedBatches: number; deletedDigests: number }[];
}

const DAY_MS = 86_400_000;
const OPS_PER_TX = 200;

export async function readAnchor(store: StoreSink, node: string): Promise<AuditDigest | null> {
  const got = await store.barrier.getJSON<unknown>(anchorPath(node));
  return got && isDigest(got.value) ? got.value : null;
}

async function deleteInBatches(store: StoreSink, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += OPS_PER_TX) {
    const ops: Op[] = keys.slice(i, i + OPS_PER_TX).map((key) => ({ type: 'delete', key }));
    await store.barrier.transaction(ops);
  }
}

export async function pruneStore(store: StoreSink, o: { olderThanDays: number; now: Date }): Promise<PruneResult> {
  if (!(Number.isFinite(o.olderThanDays) && o.olderThanDays > 0)) throw new RangeError('olderThanDays must be positive');
  const cutoffMs = o.now.getTime() - o.olderThanDays * DAY_MS;
  const result: PruneResult = { cutoff: new Date(cutoffMs).toISOString(), nodes: [] };
  for (const node of await store.nodes()) {
    const digests = (await loadDigests(store.barrier, node)).flatMap((x) => (x.digest ? [x.digest] : []));
    const cut = digests.filter((d) => Date.parse(d.periodEnd) < cutoffMs).pop();
    if (!cut) continue;
    const anchor = await readAnchor(store, node);
    if (anchor && anchor.toSeq > cut.toSeq) continue;
    // 1. the anchor, before anything is deleted
    if (!anchor || anchor.toSeq !== cut.toSeq) await store.barrier.putJSON(anchorPath(node), cut);
    // 2. events up to the cut
    const eventKeys = (await store.barrier.list(eventsPrefix(node))).filter((k) => seqOfPath(k) <= cut.toSeq);
    // 3. their index entries: all have times at or before the digest's period end
    const indexKeys: string[] = [];
    let after = `${INDEX_PREFIX}${invertedMs(Date.parse(cut.periodEnd) + 1)}/~`;
    for (;;) {
      const keys = await store.barrier.list(INDEX_PREFIX, { after, limit: 1000 });
      if (keys.length === 0) break;
      for (const k of keys) {
        const ix = parseIndexPath(k);
        if (ix && ix.node === node && ix.seq <= cut.toSeq) indexKeys.push(k);
      }
      after = keys[keys.length - 1]!;
    }
    // 4. digests before the anchor (the anchor's own digest stays)
    const digestKeys = digests.filter((d) => d.toSeq < cut.toSeq).map((d) => digestPath(node, d.toSeq));
    await deleteInBatches(store, [...eventKeys, ...indexKeys]);
    await deleteInBatches(store, digestKeys);
    result.nodes.push({ node, anchorSeq: cut.toSeq, deletedBatches: eventKeys.length, deletedDigests: digestKeys.length });
  }
  return result;
}
