// The audit commit gate as the storage layer sees it: "a request that cannot be audited has no
// effect". One WriteGate per mutating call (none for read-only calls): its first write waits for
// the call's audit event to be durable, and fails, writing nothing, when it cannot be.
//
//   const gate = new WriteGate(recordEvent);           // once per mutating call (src/http/pipeline.ts)
//   const view = gatedBarrier(barrier, gate);          // reads as usual; writes pass the gate first
//   await gate.pass({ KeyMetadata });                  // or pass it explicitly with what is known of the output
import type { Barrier } from './barrier.ts';

/** Records the call's event; `partialOutput` is what is already known of the response (CreateKey's key). */
export type CommitGate = (partialOutput?: unknown) => Promise<void>;

export class WriteGate {
  private passed: Promise<void> | null = null;

  constructor(private readonly record: CommitGate) {}

  /** Records the event once; every later call returns the same promise. Rejects: write nothing. */
  pass(partialOutput?: unknown): Promise<void> {
    return (this.passed ??= this.record(partialOutput));
  }
}

/** What operations read and write through: the barrier, or one mutating call's gated view of it. */
export type BarrierView = Pick<Barrier, 'get' | 'getJSON' | 'put' | 'putJSON' | 'delete' | 'list' | 'transaction'>;

/** The barrier as one mutating call sees it: reads unchanged, every write first passes the call's gate. */
export function gatedBarrier(barrier: BarrierView, gate: WriteGate): BarrierView {
  return {
    get: (path) => barrier.get(path),
    getJSON: (path) => barrier.getJSON(path),
    list: (prefix, opts) => barrier.list(prefix, opts),
    put: async (path, value, opts) => {
      await gate.pass();
      return barrier.put(path, value, opts);
    },
    putJSON: async (path, value, opts) => {
      await gate.pass();
      return barrier.putJSON(path, value, opts);
    },
    delete: async (path, opts) => {
      await gate.pass();
      return barrier.delete(path, opts);
    },
    transaction: async (ops) => {
      await gate.pass();
      return barrier.transaction(ops);
    },
  };
}
