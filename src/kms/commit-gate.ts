// The commit gate for KMS: "a request that cannot be audited has no effect". A mutating KMS call
// (and only a mutating one: read-only calls get no gate) runs against a view of the key store whose
// KeyStore.beforeWrite passes the call's WriteGate (src/storage/gate.ts, the same once-per-call gate
// Secrets Manager's gated barrier view uses). Every write of the key store awaits it after the
// operation's state checks decided the outcome, so the gate is passed once, right before the first
// write; if it rejects, nothing is written and the call fails with that error. The view shares the
// store's caches (it is the store with one hook replaced), so creating it costs one object.
import type { KeyStore } from './keystore.ts';
import type { KeyRecord } from './model.ts';
import type { CommitGate, WriteGate } from '../storage/gate.ts';

export type { CommitGate };

export function gatedStore(store: KeyStore, gate: WriteGate): KeyStore {
  const view = Object.create(store) as KeyStore;
  view.beforeWrite = () => gate.pass();
  // CreateKey's event names the key it creates, so its gate is passed with that much of the output.
  view.createKey = async (rec: KeyRecord) => {
    await gate.pass({ KeyMetadata: { KeyId: rec.keyId, Arn: rec.arn, AWSAccountId: rec.accountId, KeyState: rec.state, KeyUsage: rec.keyUsage, KeySpec: rec.keySpec } });
    return store.createKey(rec);
  };
  return view;
}
