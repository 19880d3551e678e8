// The commit gate: "a request that cannot be audited has no effect". A mutating KMS call runs
// against a per-call view of the key store whose KeyStore.beforeWrite hook passes the gate (the
// audit trail's append of this call's event). Every write of the key store awaits that hook after
// the operation's state checks have decided the outcome, so the gate is passed once per call, right
// before the first write; if it rejects, nothing is written and the call fails with that error.
import type { KeyStore } from './keystore.ts';
import type { KeyRecord } from './model.ts';

/** Records the call's event; `partialOutput` is what is already known of the response (CreateKey's key). */
export type CommitGate = (partialOutput?: unknown) => Promise<void>;

export function gatedStore(store: KeyStore, gate: CommitGate): KeyStore {
  let passed: Promise<void> | null = null;
  const pass = (out?: unknown): Promise<void> => (passed ??= gate(out));
  const view = Object.create(store) as KeyStore;
  view.beforeWrite = () => pass();
  // CreateKey's event names the key it creates, so its gate is passed with that much of the output.
  view.createKey = async (rec: KeyRecord) => {
    await pass({ KeyMetadata: { KeyId: rec.keyId, Arn: rec.arn, AWSAccountId: rec.accountId, KeyState: rec.state, KeyUsage: rec.keyUsage, KeySpec: rec.keySpec } });
    return store.createKey(rec);
  };
  return view;
}
