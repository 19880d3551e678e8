// Verifies a JSON-lines file set (audit.N.jsonl ... audit.1.jsonl, audit.jsonl): the chain of each
// node in line order, and the digests found in the files plus any given from the store (so deleting
// digest lines together with events does not hide the deletion when the store is at hand).
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { basename } from 'node:path';
import { type ChainHead, isAuditRecord } from './chain.ts';
import { type AuditDigest, type AuditPublicKey, checkDigestSignature, isDigest } from './digest.ts';
import { listFileSet } from './sinks/file.ts';
import { type ChainItem, type DigestItem, type NodeReport, type Problem, type VerifyResult, checkChain, chooseWindow, summarize } from './verify.ts';

export interface VerifyFilesOptions {
  /** The current file's path (rolled files beside it are found by name). */
  path: string;
  publicKey: AuditPublicKey;
  /** Digests known from elsewhere, e.g. the store's. */
  digests?: readonly AuditDigest[];
  from?: Date;
  to?: Date;
  node?: string;
  /**
   * Chain heads known from elsewhere (the store's head records), by node. Events after the last
   * digest are covered by nothing in the file itself; a head from another copy exposes a cut tail
   * (its seq) and an event edited after the last digest with the chain re-hashed (its hash).
   */
  heads?: Readonly<Record<string, ChainHead>>;
}

interface Line {
  node: string | undefined;
  item?: ChainItem;
  digest?: DigestItem;
}

async function endsWithNewline(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size === 0) return true;
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    await fh.close();
  }
}

async function readLines(path: string): Promise<Line[]> {
  const out: Line[] = [];
  const files = await listFileSet(path);
  for (const file of files) {
    const torn = !(await endsWithNewline(file));
    const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    let n = 0;
    const lines: string[] = [];
    for await (const line of rl) lines.push(line);
    for (const line of lines) {
      n++;
      const where = `${basename(file)}:${n}`;
      const isLast = n === lines.length;
      let v: unknown;
      try {
        v = torn && isLast ? undefined : JSON.parse(line);
      } catch {
        v = undefined;
      }
      if (isAuditRecord(v)) {
        out.push({ node: v.node, item: { where, record: v } });
      } else if (typeof v === 'object' && v !== null && 'digest' in v) {
        const d = (v as { digest: unknown }).digest;
        const dd = d as Partial<AuditDigest> | null;
        out.push({
          node: typeof dd?.node === 'string' ? dd.node : undefined,
          digest: { where, toSeq: typeof dd?.toSeq === 'number' ? dd.toSeq : 0, digest: isDigest(d) ? d : null },
        });
      } else {
        out.push({ node: undefined, item: { where: torn && isLast ? `${where} (torn last line)` : where, record: null } });
      }
    }
  }
  // Lines that could not be read belong to the chain they sit in.
  let last: string | undefined;
  for (const l of out) {
    if (l.node === undefined) l.node = last;
    else last = l.node;
  }
  let next: string | undefined;
  for (let i = out.length - 1; i >= 0; i--) {
    const l = out[i]!;
    if (l.node === undefined) l.node = next;
    else next = l.node;
  }
  return out;
}

export async function verifyFiles(o: VerifyFilesOptions): Promise<VerifyResult> {
  const lines = await readLines(o.path);
  if (lines.length === 0) {
    return summarize([], [{ kind: 'missing', node: o.node ?? '-', where: o.path, message: `no audit lines found at ${o.path}` }]);
  }
  const nodes = o.node ? [o.node] : [...new Set(lines.map((l) => l.node).filter((n): n is string => n !== undefined))];
  const reports: NodeReport[] = [];
  const problems: Problem[] = [];
  for (const node of nodes) {
    const mine = lines.filter((l) => l.node === node || (l.node === undefined && nodes.length === 1));
    const r = verifyFileNode(o, node, mine);
    reports.push(r.report);
    problems.push(...r.problems);
  }
  return summarize(reports, problems);
}

function verifyFileNode(o: VerifyFilesOptions, node: string, lines: Line[]): { report: NodeReport; problems: Problem[] } {
  // Digests: from the files and from outside, once each.
  const digestItems = new Map<string, DigestItem>();
  for (const l of lines) if (l.digest) digestItems.set(l.digest.digest?.signature ?? `unreadable:${l.digest.where}`, l.digest);
  for (const d of o.digests ?? []) if (d.node === node && !digestItems.has(d.signature)) digestItems.set(d.signature, { where: 'store', toSeq: d.toSeq, digest: d });
  const allDigests = [...digestItems.values()].sort((a, b) => a.toSeq - b.toSeq);
  const readable = allDigests.flatMap((x) => (x.digest ? [x.digest] : []));

  // Files may begin mid-chain (older files rolled away): a valid digest ending right before the
  // first record anchors it; without one, the missing beginning is reported.
  const items = lines.flatMap((l) => (l.item ? [l.item] : []));
  const firstSeq = items.reduce((m, i) => (i.record ? Math.min(m, i.record.seq) : m), Number.MAX_SAFE_INTEGER);
  const anchor = readable.find((d) => d.toSeq === firstSeq - 1 && checkDigestSignature(d, o.publicKey) === 'ok') ?? null;
  const w = chooseWindow(readable, o.publicKey, anchor, o.from, o.to);
  const endSeq = w.endDigest ? w.endDigest.toSeq : Number.MAX_SAFE_INTEGER;
  const expectedEnd = w.endDigest ? w.endDigest.toSeq : readable.reduce((m, d) => Math.max(m, d.toSeq), o.heads?.[node]?.seq ?? 0);

  // Keep records inside the window, and unreadable lines lying between them.
  const inWindow = (i: ChainItem): boolean => i.record !== null && i.record.seq > w.start.seq && i.record.seq <= endSeq;
  const firstIdx = items.findIndex(inWindow);
  let lastIdx = -1;
  for (let i = items.length - 1; i >= 0; i--) if (inWindow(items[i]!)) { lastIdx = i; break; }
  const windowItems = items.filter((it, i) => inWindow(it) || (it.record === null && (firstIdx < 0 || (i > firstIdx && (i < lastIdx || !w.endDigest)))));
  const digests = allDigests.filter((x) => x.toSeq > w.start.seq && x.toSeq <= endSeq);
  const r = checkChain({
    node, items: windowItems, start: w.start, startedFrom: w.startedFrom, expectedEnd, digests, publicKey: o.publicKey,
    ...(w.startDigest ? { startDigest: w.startDigest } : {}),
  });
  const head = o.heads?.[node];
  if (head && head.seq <= endSeq) r.problems.push(...checkHeadHash(node, head, windowItems, readable));
  r.problems.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
  return r;
}

/**
 * The store's head names the hash of the last event it holds. The same seq in the file with another
 * hash means the file's chain was rewritten after that event's last digest (an edit re-hashed to
 * the end passes every check inside the file). Names the first event the digests no longer cover.
 */
function checkHeadHash(node: string, head: ChainHead, items: readonly ChainItem[], digests: readonly AuditDigest[]): Problem[] {
  const inFile = items.find((i) => i.record?.seq === head.seq)?.record;
  if (!inFile || inFile.hash === head.hash) return [];
  const covered = digests.reduce((m, d) => (d.toSeq < head.seq ? Math.max(m, d.toSeq) : m), 0);
  const firstUncovered = items.find((i) => i.record && i.record.seq === covered + 1)?.record ?? inFile;
  return [{
    kind: 'modified', node, seq: firstUncovered.seq, eventID: String(firstUncovered.event.eventID),
    message: `seqs ${covered + 1}..${head.seq} do not match the store's chain head (seq ${head.seq} has another hash there): an event after the last digest was modified and the chain re-hashed`,
  }];
}
