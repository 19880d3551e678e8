// Filling a durable sink's gap after a crash. The durable sinks are written in parallel and a
// request proceeds on the first success, so a kill between them leaves one sink (say the file)
// without the last batch the other (the store) committed. Left alone, that batch would be missing
// from the file forever, and `verify --file` could not tell it from a deletion.
//
// At open, AuditLog asks every durable sink where its copy of this node's chain ends. A sink that
// holds the chain but ends before the furthest head gets the missing records copied from a sink
// that has them, exactly as they were written (the same canonical lines), after checking that they
// attach to the lagging sink's last record and are intact. AuditLog then records the fill as an
// audit event (AuditSinkGapFilled), so the repair itself is on the trail.
//
// Not filled: a sink that holds none of the chain (a sink added later starts where it joins), a
// range whose records do not attach or fail their hashes (that is tampering, for the verifier),
// and gaps left by a sink failing while the process ran (reported as sink failures).
import { type AuditRecord, type ChainHead, recordHash } from './chain.ts';
import type { AuditSink } from './sinks/types.ts';

/** A durable sink that can hand back a range of one node's records with their lines as written. */
export interface RangeSource {
  readRange(node: string, fromSeq: number, toSeq: number): Promise<{ records: AuditRecord[]; lines: string[] } | null>;
}

export interface SinkHead {
  sink: AuditSink;
  /** undefined: the sink could not say (its recover() failed). */
  head: ChainHead | null | undefined;
}

export interface GapFill {
  sink: string;
  source: string;
  fromSeq: number;
  toSeq: number;
}

/** Gaps larger than this are not copied at start (a batch in flight is at most a few hundred events). */
const MAX_FILL = 100_000;

function isSource(s: AuditSink): s is AuditSink & RangeSource {
  return typeof (s as Partial<RangeSource>).readRange === 'function';
}

/** Checks that `records` are seqs head.seq+1..toSeq, each intact and linked to the one before. */
function attaches(records: readonly AuditRecord[], head: ChainHead, toSeq: number): boolean {
  let prev = head;
  for (const r of records) {
    if (r.seq !== prev.seq + 1 || r.prevHash !== prev.hash || recordHash(r) !== r.hash) return false;
    prev = { seq: r.seq, hash: r.hash };
  }
  return prev.seq === toSeq;
}

export async function fillGaps(node: string, heads: readonly SinkHead[], best: ChainHead, report: (sink: string, err: unknown) => void): Promise<GapFill[]> {
  const fills: GapFill[] = [];
  for (const lagging of heads) {
    const h = lagging.head;
    if (!h || h.seq >= best.seq || best.seq - h.seq > MAX_FILL) continue;
    for (const source of heads) {
      if (source === lagging || !source.head || source.head.seq < best.seq || !isSource(source.sink)) continue;
      try {
        const got = await source.sink.readRange(node, h.seq + 1, best.seq);
        if (!got || !attaches(got.records, h, best.seq)) continue;
        await lagging.sink.write({ node, records: got.records, lines: got.lines });
        lagging.head = best;
        fills.push({ sink: lagging.sink.name, source: source.sink.name, fromSeq: h.seq + 1, toSeq: best.seq });
        break;
      } catch (e) {
        report(lagging.sink.name, e);
      }
    }
  }
  return fills;
}
