// Verifies the chains and digests kept in the store (the StoreSink's events, AuditLog's digests,
// retention's anchors), optionally over a time range.
import { type AuditDigest, type AuditPublicKey, loadDigests } from './digest.ts';
import type { AuditRecord } from './chain.ts';
import { digestPath, headPath } from './paths.ts';
import { readAnchor } from './retention.ts';
import type { StoreSink, StoredHead } from './sinks/store.ts';
import { type ChainItem, type DigestItem, type NodeReport, type Problem, type VerifyResult, checkChain, chooseWindow, summarize } from './verify.ts';

export interface VerifyOptions {
  store: StoreSink;
  /** The trusted public key: ideally one exported earlier and kept apart from the store. */
  publicKey: AuditPublicKey;
  from?: Date;
  to?: Date;
  /** Only this node (default: every node with events in the store). */
  node?: string;
  /** Told after each page of batches read: the node, events read so far for it, and about how many it has. */
  onProgress?: (p: { node: string; events: number; of: number }) => void;
}

const PAGE = 100;

export async function verifyStore(o: VerifyOptions): Promise<VerifyResult> {
  const nodes = o.node ? [o.node] : await o.store.nodes();
  const reports: NodeReport[] = [];
  const problems: Problem[] = [];
  for (const node of nodes) {
    const r = await verifyNode(o, node);
    reports.push(r.report);
    problems.push(...r.problems);
  }
  return summarize(reports, problems);
}

async function verifyNode(o: VerifyOptions, node: string): Promise<{ report: NodeReport; problems: Problem[] }> {
  const all = await loadDigests(o.store.barrier, node);
  const readable = all.flatMap((x) => (x.digest ? [x.digest] : []));
  const extra: Problem[] = [];
  const anchor = await readAnchor(o.store, node).catch(() => {
    extra.push({ kind: 'forged-digest', node, where: `audit/anchor/${node}`, message: `audit/anchor/${node}: the retention anchor is unreadable` });
    return null;
  });
  const w = chooseWindow(readable, o.publicKey, anchor, o.from, o.to);
  const head = await o.store.storedHead(node).catch(() => {
    extra.push({ kind: 'modified', node, where: `audit/head/${node}`, message: `audit/head/${node}: the chain head record is unreadable` });
    return null;
  });
  const lastDigestSeq = all.length > 0 ? all[all.length - 1]!.toSeq : 0;
  // With a closed period after `to`, the window ends at that digest; otherwise at the chain's end.
  const endSeq = w.endDigest ? w.endDigest.toSeq : Number.MAX_SAFE_INTEGER;
  const expectedEnd = w.endDigest ? w.endDigest.toSeq : Math.max(head?.seq ?? 0, lastDigestSeq);

  const items: ChainItem[] = [];
  let next = w.start.seq + 1;
  for (;;) {
    const page = await o.store.readBatches(node, next, endSeq, PAGE);
    for (const b of page) {
      if (b.records === null) items.push({ slot: b.slot, where: b.key, record: null });
      else b.records.forEach((record, i) => items.push({ where: `${b.key}#${i + 1}`, record }));
    }
    o.onProgress?.({ node, events: items.length, of: Math.max(items.length, expectedEnd - w.start.seq) });
    const last = page[page.length - 1];
    if (page.length < PAGE || !last || last.slot >= endSeq) break;
    next = last.slot + 1;
  }
  const digests: DigestItem[] = all
    .filter((x) => x.toSeq > w.start.seq && x.toSeq <= endSeq && !(anchor && sameDigest(x.digest, anchor)))
    .map((x) => ({ where: digestPath(node, x.toSeq), toSeq: x.toSeq, digest: x.digest }));
  const r = checkChain({
    node, items, start: w.start, startedFrom: w.startedFrom, expectedEnd, digests, publicKey: o.publicKey,
    ...(w.startDigest ? { startDigest: w.startDigest } : {}),
  });
  // after the chain's own findings: at the same seq, a forged digest is named before the head's view of it
  const headProblems = !w.endDigest && extra.length === 0 ? [...checkHead(node, head, items), ...checkHeadDigest(node, head, all, anchor)] : [];
  return { report: r.report, problems: [...extra, ...r.problems, ...headProblems] };
}

/**
 * The head names the node's newest digest when its batch was written; that digest must still be
 * there, unchanged (retention keeps the newest digests). Deleting every digest, or the newest
 * ones, shows here; a digest closed after the last batch (at shutdown) is covered only by the
 * next batch's head or an outside checkpoint.
 */
function checkHeadDigest(node: string, head: StoredHead | null, all: readonly { toSeq: number; digest: AuditDigest | null }[], anchor: AuditDigest | null): Problem[] {
  const named = head?.lastDigest;
  if (!named || (anchor && named.toSeq < anchor.toSeq)) return [];
  const where = digestPath(node, named.toSeq);
  const stored = all.find((x) => x.toSeq === named.toSeq);
  if (!stored) return [{ kind: 'missing-digest', node, seq: named.toSeq, where, message: `${where}: the digest ending at seq ${named.toSeq}, named by the chain head record, is gone` }];
  if (stored.digest && stored.digest.signature !== named.signature) {
    return [{ kind: 'forged-digest', node, seq: named.toSeq, where, message: `${where}: the digest ending at seq ${named.toSeq} is not the one the chain head record names: it was replaced` }];
  }
  return [];
}

/**
 * The head record is written in the same transaction as every batch, so it names exactly the last
 * stored event. A node with events but no head, a head whose hash is not its event's, or events
 * beyond the head mean the head was deleted or an older copy of it was written back.
 */
function checkHead(node: string, head: StoredHead | null, items: readonly ChainItem[]): Problem[] {
  const records = items.flatMap((i) => (i.record ? [i.record] : []));
  const last = records.reduce<AuditRecord | undefined>((m, r) => (!m || r.seq > m.seq ? r : m), undefined);
  const where = headPath(node);
  if (!head) {
    return last ? [{ kind: 'truncated', node, seq: last.seq, where, message: `${where}: the chain head record is missing while events up to seq ${last.seq} exist: it was deleted` }] : [];
  }
  if (last && last.seq > head.seq) {
    return [{ kind: 'modified', node, seq: head.seq + 1, where, message: `${where} names seq ${head.seq}, but events up to seq ${last.seq} exist: an older head record was written back` }];
  }
  const atHead = records.find((r) => r.seq === head.seq);
  if (atHead && atHead.hash !== head.hash) {
    return [{ kind: 'modified', node, seq: head.seq, eventID: String(atHead.event.eventID), where, message: `${where} names another hash for seq ${head.seq} than the stored event has` }];
  }
  return [];
}

function sameDigest(a: AuditDigest | null, b: AuditDigest): boolean {
  return a !== null && a.signature === b.signature;
}
