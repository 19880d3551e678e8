// The per-node hash chain. Every event a node records gets the next sequence number and is linked
// to its predecessor:
//
//   hash(seq n) = hex( SHA-256( prevHash || canonicalJson({ event, node, seq }) ) )
//
// where prevHash is the hex hash of seq n-1 (64 ASCII hex characters; GENESIS for seq 1) and
// canonicalJson is defined in ./canonical.ts. Editing any field of any event, or moving, removing or
// inserting an event, changes a hash that a later event (or a signed digest) depends on.
// Chains are per node so nodes sharing a store never contend on one head.
import { sha256Hex } from '../crypto/index.ts';
import { canonicalJson } from './canonical.ts';
import type { AuditEvent } from './event.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** One chained event, exactly as every sink stores it. */
export interface AuditRecord {
  node: string;
  /** 1, 2, 3, ... per node, no gaps. */
  seq: number;
  prevHash: string;
  hash: string;
  event: AuditEvent;
}

/** The end of a chain: the last sequence number and its hash (seq 0 + GENESIS before any event). */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_HEAD: ChainHead = Object.freeze({ seq: 0, hash: GENESIS_HASH });

/** Node names appear in storage paths and file lines: keep them short and plain. */
export const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function recordHash(r: Pick<AuditRecord, 'node' | 'seq' | 'prevHash' | 'event'>): string {
  return hashOf(r.prevHash, canonicalJson(r.event), r.node, r.seq);
}

// canonicalJson({ event, node, seq }) spelled out, so the event is canonicalized once per record and
// that same text is reused for the stored line (node names need no escaping: see NODE_NAME).
function hashOf(prevHash: string, eventJson: string, node: string, seq: number): string {
  return sha256Hex(`${prevHash}{"event":${eventJson},"node":${JSON.stringify(node)},"seq":${seq}}`);
}

/** A chained record together with its canonical JSON line (what every sink writes). */
export interface ChainedRecord {
  record: AuditRecord;
  line: string;
}

/** Chains one event after `head`. Pure; throws NotCanonicalizable for an event that is not plain JSON. */
export function chainOne(node: string, head: ChainHead, event: AuditEvent): ChainedRecord {
  const seq = head.seq + 1;
  const eventJson = canonicalJson(event);
  const hash = hashOf(head.hash, eventJson, node, seq);
  const line = `{"event":${eventJson},"hash":"${hash}","node":${JSON.stringify(node)},"prevHash":"${head.hash}","seq":${seq}}`;
  return { record: { node, seq, prevHash: head.hash, hash, event }, line };
}

/**
 * Chains events after `head`. Pure: returns the records and the new head; the caller commits the
 * head only once the records are durably written (so a failed write leaves no gap).
 */
export function chainEvents(node: string, head: ChainHead, events: readonly AuditEvent[]): { records: AuditRecord[]; lines: string[]; head: ChainHead } {
  const records: AuditRecord[] = [];
  const lines: string[] = [];
  let h = head;
  for (const event of events) {
    const c = chainOne(node, h, event);
    records.push(c.record);
    lines.push(c.line);
    h = { seq: c.record.seq, hash: c.record.hash };
  }
  return { records, lines, head: h };
}

/** A stored or parsed object that has the record's shape (checked before trusting its fields). */
export function isAuditRecord(v: unknown): v is AuditRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.node === 'string' && Number.isSafeInteger(r.seq) && typeof r.prevHash === 'string'
    && typeof r.hash === 'string' && typeof r.event === 'object' && r.event !== null;
}
