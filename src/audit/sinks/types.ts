// What a sink is. Two kinds:
//   durable  (store, file): `write` resolves only once the batch is on stable storage. AuditLog.append
//            resolves when at least one durable sink accepted the batch. They can also tell where
//            their copy of the chain ends, so a restarted node continues its chain.
//   forwarder (stdout, syslog): best-effort copies for log collectors and SIEMs. They never hold up
//            or fail a request; anything they drop shows up downstream as a gap in seq numbers.
import type { AuditRecord, ChainHead } from '../chain.ts';
import type { AuditDigest } from '../digest.ts';

/** One group commit: consecutive records of one node, and/or a digest closing a period. */
export interface SinkBatch {
  node: string;
  records: readonly AuditRecord[];
  /** lines[i] is records[i] as canonical JSON (computed once while chaining; sinks write it as is). */
  lines: readonly string[];
  digest?: AuditDigest;
  /** The node's newest digest when the batch was written (the store keeps it in the head record). */
  lastDigest?: { toSeq: number; signature: string };
}

export interface AuditSink {
  /** Short label for errors and metrics ("store", "file:/var/log/rekey/audit.jsonl", ...). Never holds event content. */
  readonly name: string;
  readonly durable: boolean;
  /**
   * Durable sinks: the last chain position this sink holds for `node`, or null when it holds none.
   * May repair what a crash left half-written (a torn last line). Called at open and after failures.
   */
  recover?(node: string): Promise<ChainHead | null>;
  /** Writes one batch. Durable sinks resolve only when it is durable and reject otherwise, writing nothing they keep. */
  write(batch: SinkBatch): Promise<void>;
  /**
   * A durable sink whose write() commits atomically but not yet durably (the store copy while a file
   * sink holds each batch durably: docs/AUDIT.md). AuditLog counts such a write as durable only
   * beside a durable sink's success, or after sync().
   */
  readonly relaxed?: boolean;
  /** Makes relaxed writes durable. */
  sync?(): Promise<void>;
  close(): Promise<void>;
}

/** One line of a JSON-lines sink: an event record, or a digest. */
export type SinkLine = AuditRecord | { digest: AuditDigest };

const recordBytes = new WeakMap<SinkBatch, Buffer>();

/**
 * The batch's record lines as UTF-8, each ended by '\n' (no digest line): made once per batch and
 * shared by the sinks that store them as is (store, file). Read-only.
 */
export function recordsBytes(batch: SinkBatch): Buffer {
  let b = recordBytes.get(batch);
  if (b === undefined) {
    b = Buffer.from(batch.lines.length === 0 ? '' : batch.lines.join('\n') + '\n', 'utf8');
    recordBytes.set(batch, b);
  }
  return b;
}

/** Serializes a batch as JSON lines: records first (in seq order), then the digest. */
export function batchLines(batch: SinkBatch): string[] {
  const lines = [...batch.lines];
  if (batch.digest) lines.push(JSON.stringify({ digest: batch.digest }));
  return lines;
}
