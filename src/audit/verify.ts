// Verification core, shared by the store and the file verifiers: given one node's records in
// storage order, a trusted starting point and the signed digests of the window, it names every
// modified, missing, reordered or truncated event and every forged or missing digest.
//
// How each kind of tampering shows up:
//   modified   a record's hash does not match its content; or its hash is valid but the next record
//              links to a different hash (edited and re-hashed); or a signed digest's lastHash no
//              longer matches (the whole rest of the chain was re-hashed); or the value is unreadable
//   missing    a seq is absent while later ones are present
//   reordered  a record sits in another record's slot (store) or before a smaller seq (file)
//   truncated  the head record or a signed digest names seqs beyond the last record present
//   forged-digest   bad signature, wrong key, unreadable digest
//   missing-digest  a digest's previousDigestSignature/fromSeq does not follow the previous digest
import { type AuditRecord, type ChainHead, GENESIS_HASH, recordHash } from './chain.ts';
import { type AuditDigest, type AuditPublicKey, checkDigestSignature } from './digest.ts';

export type ProblemKind = 'modified' | 'missing' | 'reordered' | 'truncated' | 'forged-digest' | 'missing-digest';

export interface Problem {
  kind: ProblemKind;
  node: string;
  seq?: number;
  eventID?: string;
  /** Storage key or file:line. */
  where?: string;
  message: string;
}

export interface NodeReport {
  node: string;
  /** 'genesis', 'digest' (a signed digest at or before --from) or 'anchor' (retention's cut). */
  startedFrom: 'genesis' | 'digest' | 'anchor';
  fromSeq: number;
  toSeq: number;
  events: number;
  digests: number;
}

export interface VerifyResult {
  ok: boolean;
  nodes: NodeReport[];
  /** Sorted by seq: problems[0] is the first broken point. */
  problems: Problem[];
  firstProblem?: Problem;
}

export interface ChainItem {
  /**
   * With a record: the seq its storage slot names (it must match). Without one (unreadable): the
   * last seq the unreadable value held, so the seqs up to it are reported as damaged, not missing.
   */
  slot?: number;
  where: string;
  record: AuditRecord | null;
}

export interface DigestItem {
  where: string;
  /** toSeq from the storage key, when the value could not be read. */
  toSeq: number;
  digest: AuditDigest | null;
}

export interface CheckInput {
  node: string;
  items: readonly ChainItem[];
  start: ChainHead;
  startedFrom: NodeReport['startedFrom'];
  /** The digest the window starts from (anchor or a digest before --from), signature checked here. */
  startDigest?: AuditDigest;
  /** Records must exist at least up to this seq (head record, last digest). */
  expectedEnd: number;
  digests: readonly DigestItem[];
  publicKey: AuditPublicKey;
}

const MAX_GAP_SCAN = 1_000_000;

function ev(r: AuditRecord | undefined): string {
  return r ? ` (eventID ${String(r.event.eventID)})` : '';
}

export function checkChain(input: CheckInput): { problems: Problem[]; report: NodeReport } {
  const { node, start } = input;
  const problems: Problem[] = [];
  const add = (p: Omit<Problem, 'node'>): void => void problems.push({ node, ...p });
  const readable = input.items.filter((i) => i.record && i.record.seq > start.seq);
  const present = new Set(readable.map((i) => i.record!.seq));
  const damaged: [number, number][] = [];
  const isDamaged = (s: number): boolean => damaged.some(([a, b]) => s >= a && s <= b);
  const bySeq = new Map<number, AuditRecord>();
  const processed = new Set<number>();
  const excused = new Set<number>();
  let maxSeq = start.seq;
  let unreadableRun = 0;

  // Pass 1, storage order: content hashes, slots, order, gaps.
  for (const item of input.items) {
    const r = item.record;
    if (!r) {
      add({ kind: 'modified', where: item.where, ...(item.slot !== undefined ? { seq: item.slot } : {}), message: `${item.where}: the stored value is unreadable (altered, moved or not a record)` });
      unreadableRun++;
      if (item.slot !== undefined && item.slot > maxSeq) {
        damaged.push([maxSeq + 1, item.slot]);
        maxSeq = item.slot;
      }
      continue;
    }
    if (r.seq <= start.seq) continue; // below the anchor: retention is deleting it
    const at = { seq: r.seq, eventID: String(r.event.eventID), where: item.where };
    if (r.node !== node) add({ kind: 'modified', ...at, message: `seq ${r.seq}${ev(r)} names node ${r.node}, found in node ${node}'s chain` });
    // In the store a record's place is its slot, so a record in another slot IS the reordering;
    // the order checks below would only repeat it.
    const misplaced = item.slot !== undefined && item.slot !== r.seq;
    if (misplaced) add({ kind: 'reordered', ...at, message: `the slot of seq ${item.slot} holds seq ${r.seq}${ev(r)}: events were moved` });
    if (recordHash(r) !== r.hash) add({ kind: 'modified', ...at, message: `seq ${r.seq}${ev(r)} was modified: its content does not match its hash` });
    if (misplaced) {
      // reported above
    } else if (processed.has(r.seq)) {
      add({ kind: 'reordered', ...at, message: `seq ${r.seq}${ev(r)} appears more than once` });
    } else if (r.seq > maxSeq + 1) {
      let absent: number | undefined;
      for (let s = maxSeq + 1; s < r.seq && s - maxSeq < MAX_GAP_SCAN; s++) {
        if (!present.has(s) && !isDamaged(s)) {
          absent = s;
          break;
        }
      }
      if (absent === undefined) {
        add({ kind: 'reordered', ...at, message: `seq ${r.seq}${ev(r)} appears before seq ${maxSeq + 1}: events were reordered` });
      } else if (r.seq - maxSeq - 1 > unreadableRun) {
        let last = absent;
        while (last + 1 < r.seq && !present.has(last + 1)) last++;
        add({ kind: 'missing', seq: absent, where: item.where, message: `${absent === last ? `seq ${absent} is` : `seqs ${absent}..${last} are`} missing (next present: seq ${r.seq}${ev(r)})` });
      }
      for (let s = maxSeq + 1; s < r.seq && s - maxSeq < MAX_GAP_SCAN; s++) excused.add(s);
    } else if (r.seq < maxSeq && !excused.has(r.seq)) {
      add({ kind: 'reordered', ...at, message: `seq ${r.seq}${ev(r)} appears after seq ${maxSeq}: events were reordered` });
    }
    unreadableRun = 0;
    processed.add(r.seq);
    if (!bySeq.has(r.seq)) bySeq.set(r.seq, r);
    maxSeq = Math.max(maxSeq, r.seq);
  }
  // Pass 2, seq order: links. A record whose own hash is valid but which its successor does not
  // link to was edited and re-hashed (or the successor was re-linked, which changes its own hash).
  for (const s of [...bySeq.keys()].sort((a, b) => a - b)) {
    const r = bySeq.get(s)!;
    const prevHash = s - 1 === start.seq ? start.hash : bySeq.get(s - 1)?.hash;
    if (prevHash === undefined || r.prevHash === prevHash || recordHash(r) !== r.hash) continue;
    if (s - 1 === start.seq) {
      add({ kind: 'modified', seq: s, eventID: String(r.event.eventID), message: `seq ${s}${ev(r)} does not attach to the ${input.startedFrom === 'genesis' ? 'start of the chain' : 'signed digest it follows'}` });
    } else {
      const p = bySeq.get(s - 1)!;
      add({ kind: 'modified', seq: s - 1, eventID: String(p.event.eventID), message: `seq ${s - 1}${ev(p)} was modified and re-hashed: seq ${s} links to a different hash` });
    }
  }

  // Truncation: something (head record, digest) says the chain goes further.
  if (input.expectedEnd > maxSeq) {
    add({ kind: 'truncated', seq: maxSeq + 1, message: `seqs ${maxSeq + 1}..${input.expectedEnd} are missing at the end (last present: seq ${maxSeq}${ev(bySeq.get(maxSeq))})` });
  }

  checkDigests(input, bySeq, add);
  problems.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
  return {
    problems,
    report: { node, startedFrom: input.startedFrom, fromSeq: start.seq + 1, toSeq: maxSeq, events: readable.length, digests: input.digests.length },
  };
}

function checkDigests(input: CheckInput, bySeq: Map<number, AuditRecord>, add: (p: Omit<Problem, 'node'>) => void): void {
  const key = input.publicKey;
  let prevSig: string | null = null;
  let prevTo = 0;
  let linked = input.startedFrom === 'genesis';
  if (input.startDigest) {
    const c = checkDigestSignature(input.startDigest, key);
    if (c !== 'ok') add({ kind: 'forged-digest', seq: input.startDigest.toSeq, message: `the digest for seqs ${input.startDigest.fromSeq}..${input.startDigest.toSeq} that the window starts from is forged (${c})` });
    prevSig = input.startDigest.signature;
    prevTo = input.startDigest.toSeq;
    linked = true;
  }
  for (const item of input.digests) {
    const d = item.digest;
    if (!d) {
      add({ kind: 'forged-digest', seq: item.toSeq, where: item.where, message: `${item.where}: the digest ending at seq ${item.toSeq} is unreadable` });
      linked = false;
      continue;
    }
    const c = checkDigestSignature(d, key);
    if (c !== 'ok' || d.node !== input.node) {
      add({ kind: 'forged-digest', seq: d.toSeq, where: item.where, message: `the digest for seqs ${d.fromSeq}..${d.toSeq} is forged (${c === 'ok' ? 'another node' : c})` });
      linked = false;
      continue;
    }
    if (linked && (d.previousDigestSignature !== prevSig || d.fromSeq !== prevTo + 1)) {
      add({ kind: 'missing-digest', seq: d.fromSeq, where: item.where, message: `the digest for seqs ${d.fromSeq}..${d.toSeq} does not follow the previous digest (ending at seq ${prevTo}): a digest is missing or was replaced` });
    }
    const last = bySeq.get(d.toSeq);
    const first = bySeq.get(d.fromSeq);
    const firstOk = !first || first.prevHash === d.fromPrevHash;
    if ((last && last.hash !== d.lastHash) || !firstOk) {
      add({ kind: 'modified', seq: d.fromSeq, eventID: String((first ?? last)?.event.eventID), message: `seqs ${d.fromSeq}..${d.toSeq} do not match their signed digest: an event was modified and the chain re-hashed` });
    }
    prevSig = d.signature;
    prevTo = d.toSeq;
    linked = true;
  }
}

/**
 * Picks the window for a time range: start from the newest validly signed digest that closed at or
 * before `from` (else the anchor, else genesis); end at the first digest that closed at or after
 * `to` (else the end of the chain).
 */
export function chooseWindow(
  digests: readonly AuditDigest[],
  publicKey: AuditPublicKey,
  anchor: AuditDigest | null,
  from?: Date,
  to?: Date,
): { start: ChainHead; startedFrom: NodeReport['startedFrom']; startDigest?: AuditDigest; endDigest?: AuditDigest } {
  let start: ChainHead = anchor ? { seq: anchor.toSeq, hash: anchor.lastHash } : { seq: 0, hash: GENESIS_HASH };
  let startedFrom: NodeReport['startedFrom'] = anchor ? 'anchor' : 'genesis';
  let startDigest: AuditDigest | undefined = anchor ?? undefined;
  const usable = digests.filter((d) => d.toSeq > start.seq).sort((a, b) => a.toSeq - b.toSeq);
  if (from) {
    const d = usable.filter((x) => Date.parse(x.periodEnd) <= from.getTime() && checkDigestSignature(x, publicKey) === 'ok').pop();
    if (d) {
      start = { seq: d.toSeq, hash: d.lastHash };
      startedFrom = 'digest';
      startDigest = d;
    }
  }
  const endDigest = to ? usable.find((x) => x.toSeq > start.seq && Date.parse(x.periodEnd) >= to.getTime()) : undefined;
  return { start, startedFrom, ...(startDigest ? { startDigest } : {}), ...(endDigest ? { endDigest } : {}) };
}

export function summarize(nodes: NodeReport[], problems: Problem[]): VerifyResult {
  const sorted = [...problems].sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
  return { ok: sorted.length === 0, nodes, problems: sorted, ...(sorted[0] ? { firstProblem: sorted[0] } : {}) };
}
