// The store sink: events through the barrier. Each group-commit batch is ONE value (its records as
// canonical JSON lines) under audit/events/<node>/<lastSeq>, plus one time-index entry and the
// node's head record, all in ONE storage transaction. So a batch costs one encryption and a few
// rows whatever its size, which is what keeps audited throughput close to unaudited.
//
// The head is updated with compare-and-swap and a batch key must not exist yet, so two processes
// that were (wrongly) given the same node name cannot interleave silently: the loser's batch fails
// and its AuditLog re-reads the head before trying again.
import { CasConflict, type Op } from '../../storage/backend.ts';
import { Barrier } from '../../storage/barrier.ts';
import { type AuditRecord, type ChainHead, isAuditRecord } from '../chain.ts';
import { ANCHOR_PREFIX, EVENTS_PREFIX, HEAD_PREFIX, eventPath, eventsPrefix, headPath, indexPath, seqOfPath } from '../paths.ts';
import { type AuditSink, type SinkBatch, recordsBytes } from './types.ts';

const INDEX_VALUE = Buffer.from('1');

interface HeadRecord extends ChainHead {
  updatedAt: string;
  /** The node's newest digest when this batch was written: deleting it then shows (verify-store.ts). */
  lastDigest?: { toSeq: number; signature: string };
}

/** The head record as the verifier sees it. */
export interface StoredHead extends ChainHead {
  lastDigest?: { toSeq: number; signature: string };
}

/** One stored batch as read back. */
export interface StoredBatch {
  key: string;
  /** The last seq the key names. */
  slot: number;
  /** null when the value fails authentication (edited or moved under the barrier). Lines that do not parse are null entries. */
  records: (AuditRecord | null)[] | null;
}

/** Splits a stored batch into records; a line that is not a record becomes null. */
export function parseBatch(text: string): (AuditRecord | null)[] {
  return text.split('\n').filter((l) => l.length > 0).map((l) => {
    try {
      const v: unknown = JSON.parse(l);
      return isAuditRecord(v) ? v : null;
    } catch {
      return null;
    }
  });
}

export class StoreSink implements AuditSink {
  readonly name = 'store';
  readonly durable = true;
  /** Version of each node's head record as last seen, for the CAS in the next batch. */
  private readonly headVersions = new Map<string, number>();

  /** relaxed: commits skip the flush (see AuditSink.relaxed); only with a durable file sink beside it. */
  readonly relaxed: boolean;

  constructor(readonly barrier: Barrier, opts: { relaxed?: boolean } = {}) {
    this.relaxed = opts.relaxed === true;
  }

  async sync(): Promise<void> {
    await this.barrier.sync();
  }

  async recover(node: string): Promise<ChainHead | null> {
    const got = await this.barrier.getJSON<HeadRecord>(headPath(node));
    this.headVersions.set(node, got?.version ?? 0);
    return got ? { seq: got.value.seq, hash: got.value.hash } : null;
  }

  /** The head record as stored (for the verifier's truncation check). */
  async storedHead(node: string): Promise<StoredHead | null> {
    const got = await this.barrier.getJSON<HeadRecord>(headPath(node));
    if (!got) return null;
    const d = got.value.lastDigest;
    const named = d && Number.isSafeInteger(d.toSeq) && typeof d.signature === 'string' ? { lastDigest: { toSeq: d.toSeq, signature: d.signature } } : {};
    return { seq: got.value.seq, hash: got.value.hash, ...named };
  }

  async write(batch: SinkBatch): Promise<void> {
    const first = batch.records[0];
    const last = batch.records[batch.records.length - 1];
    if (!first || !last) return; // digests are stored by AuditLog itself (audit/digests/...)
    const { node } = batch;
    let version = this.headVersions.get(node);
    if (version === undefined) {
      await this.recover(node);
      version = this.headVersions.get(node) ?? 0;
    }
    let oldest = Number.MAX_SAFE_INTEGER;
    for (const r of batch.records) oldest = Math.min(oldest, Date.parse(r.event.eventTime) || 0);
    const head: HeadRecord = { seq: last.seq, hash: last.hash, updatedAt: new Date().toISOString(), ...(batch.lastDigest ? { lastDigest: batch.lastDigest } : {}) };
    const ops: Op[] = [
      { type: 'put', key: eventPath(node, last.seq), value: recordsBytes(batch), expectVersion: 0 },
      { type: 'put', key: indexPath(oldest, node, last.seq), value: INDEX_VALUE },
      Barrier.putOp(headPath(node), head, version),
    ];
    try {
      await this.barrier.transaction(ops, this.relaxed ? { durable: false } : undefined);
      this.headVersions.set(node, version + 1);
    } catch (e) {
      this.headVersions.delete(node); // re-read before the next attempt
      if (e instanceof CasConflict) throw new Error(`audit store: chain head of node ${node} moved (is another process using this node name?)`);
      throw e;
    }
  }

  /**
   * Nodes with events in the store: a head record, events or a retention anchor. Found from the
   * rows themselves, not from the head records alone, so deleting `audit/head/<node>` does not hide
   * a node's events from the verifier. (Digests alone do not count: a node that writes only to
   * files keeps its digests in the store too. A node whose every row was deleted is found only by
   * an outside checkpoint: src/audit/checkpoint.ts.)
   */
  async nodes(): Promise<string[]> {
    const found = new Set((await this.barrier.list(HEAD_PREFIX)).map((k) => k.slice(HEAD_PREFIX.length)));
    for (const n of await this.subfolders(EVENTS_PREFIX)) found.add(n);
    for (const k of await this.barrier.list(ANCHOR_PREFIX)) found.add(k.slice(ANCHOR_PREFIX.length));
    return [...found].sort();
  }

  /**
   * The distinct `<node>` segments under `prefix<node>/<seq>`, one list call per node: after a
   * node's first key, skip past `prefix<node>/~` ('~' sorts after every digit of a seq).
   */
  private async subfolders(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let after: string | undefined;
    for (;;) {
      const [key] = await this.barrier.list(prefix, { ...(after !== undefined ? { after } : {}), limit: 1 });
      if (key === undefined) return out;
      const node = key.slice(prefix.length).split('/')[0]!;
      out.push(node);
      after = `${prefix}${node}/~`;
    }
  }

  /**
   * Stored batches of `node` that may hold seqs in [fromSeq, toSeq], in key order, at most `limit`:
   * the first is the batch whose last seq is >= fromSeq; the list stops after the first batch whose
   * last seq is >= toSeq.
   */
  async readBatches(node: string, fromSeq: number, toSeq: number, limit = 100): Promise<StoredBatch[]> {
    const keys = await this.barrier.list(eventsPrefix(node), { ...(fromSeq > 1 ? { after: eventPath(node, fromSeq - 1) } : {}), limit });
    const out: StoredBatch[] = [];
    for (const key of keys) {
      const slot = seqOfPath(key);
      out.push({ key, slot, records: await this.readKey(key) });
      if (slot >= toSeq) break;
    }
    return out;
  }

  /**
   * Seqs fromSeq..toSeq of `node` with their lines exactly as stored (for filling another sink's
   * gap: src/audit/gap-fill.ts), or null when a batch in the range is unreadable.
   */
  async readRange(node: string, fromSeq: number, toSeq: number): Promise<{ records: AuditRecord[]; lines: string[] } | null> {
    const records: AuditRecord[] = [];
    const lines: string[] = [];
    let next = fromSeq;
    while (next <= toSeq) {
      const keys = await this.barrier.list(eventsPrefix(node), { ...(next > 1 ? { after: eventPath(node, next - 1) } : {}), limit: 100 });
      if (keys.length === 0) break;
      for (const key of keys) {
        let text: string;
        try {
          const got = await this.barrier.get(key);
          if (!got) return null;
          text = got.value.toString('utf8');
        } catch {
          return null;
        }
        for (const line of text.split('\n')) {
          if (line.length === 0) continue;
          const [r] = parseBatch(line);
          if (!r) return null;
          if (r.seq >= fromSeq && r.seq <= toSeq) {
            records.push(r);
            lines.push(line);
          }
        }
        next = seqOfPath(key) + 1;
        if (next > toSeq) break;
      }
    }
    return { records, lines };
  }

  /** The records of one batch key; null when the value fails authentication or does not exist. */
  async readKey(key: string): Promise<(AuditRecord | null)[] | null> {
    try {
      const got = await this.barrier.get(key);
      return got ? parseBatch(got.value.toString('utf8')) : null;
    } catch {
      return null; // failed barrier authentication: edited or moved at the storage layer
    }
  }

  async close(): Promise<void> {
    // the barrier belongs to the server
  }
}
