// The commit gate: "a request that cannot be audited has no effect". A mutating KMS call runs
// against a per-call view of the key store whose writes first pass the gate (the audit trail's
// append of this call's event). The gate is passed once per call, after the operation's state
// checks have decided the outcome and right before the first write; if it rejects, nothing is
// written and the call fails with that error.
import type { KeyStore } from './keystore.ts';
import type { KeyRecord } from './model.ts';

/** Records the call's event; `partialOutput` is what is already known of the response (CreateKey's key). */
export type CommitGate = (partialOutput?: unknown) => Promise<void>;

export function gatedStore(store: KeyStore, gate: CommitGate): KeyStore {
  let passed: Promise<void> | null = null;
  const pass = (out?: unknown): Promise<void> => (passed ??= gate(out));
  const view = Object.create(store) as KeyStore;
  view.createKey = async (rec: KeyRecord) => {
    await pass({ KeyMetadata: { KeyId: rec.keyId, Arn: rec.arn, AWSAccountId: rec.accountId, KeyState: rec.state, KeyUsage: rec.keyUsage, KeySpec: rec.keySpec } });
    return store.createKey(rec);
  };
  view.updateKey = async (keyId, mutate, missing) => {
    if (!passed) {
      // decide the outcome on a copy first: a call refused by its state checks is audited as
      // a failure (once), not as a success followed by a correction
      const cur = await store.readKey(keyId);
      if (!cur) throw missing();
      if (mutate(structuredClone(cur.value)) === false) return cur.value;
      await pass();
    }
    return store.updateKey(keyId, mutate, missing);
  };
  view.commit = async (writes) => {
    await pass();
    return store.commit(writes);
  };
  return view;
}
