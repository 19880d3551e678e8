// The databases' holdings under a KMS key, for incident response (src/compliance/incident, through
// its KeyHolder port, wired by src/server/start.ts): every instance's wrapped volume key and every
// snapshot's wrapped data key made with that key, and re-wrapping them to the key's current material.
//
// Re-wrapping a volume key is a KMS ReEncrypt of the small wrapped key (rewrapVolumeKey, as the
// db.rewrap job does after a rotation): the gocryptfs volume and its password stay the same, so the
// instance keeps running. Each re-wrap is recorded in the audit trail before it happens and stored
// with a compare-and-swap of the instance or snapshot record; a re-run finds the new material and
// does nothing. What this cannot do is change the volume key itself: that is `rekey db change-key`.
import { zeroize } from '../crypto/index.ts';
import { CasConflict } from '../storage/backend.ts';
import { serviceEvent } from '../audit/index.ts';
import { parseCiphertext } from '../kms/ciphertext.ts';
import type { DbCore } from './core.ts';
import { INSTANCES_PREFIX, instancePath, type InstanceRecord } from './model.ts';
import { SNAPSHOTS_PREFIX, snapshotContext, snapshotPath, type SnapshotRecord } from './snapshots/model.ts';
import { rdsPrincipal, rewrapVolumeKey, serviceIdentity } from './volume-key.ts';

/** Structurally the KeyHolder / Holding of src/compliance/incident/holdings.ts (db does not import compliance). */
export interface DbHolding {
  type: 'secret-version' | 'db-instance' | 'db-snapshot';
  arn: string;
  id: string;
  materialIds: string[];
  note?: string;
}

function materialOf(b64: string | undefined, keyId: string): string | null {
  if (!b64) return null;
  try {
    const p = parseCiphertext(Buffer.from(b64, 'base64'));
    return p.keyId === keyId ? p.materialId : null;
  } catch {
    return null;
  }
}

export function dbKeyHolder(core: DbCore) {
  const b = core.barrier;
  const all = async <T>(prefix: string): Promise<T[]> => {
    const keys = await b.list(prefix);
    const got = await Promise.all(keys.map((k) => b.getJSON<T>(k)));
    return got.flatMap((g) => (g ? [g.value] : []));
  };
  return {
    name: 'databases',
    async list(keyId: string): Promise<DbHolding[]> {
      const out: DbHolding[] = [];
      for (const rec of await all<InstanceRecord>(INSTANCES_PREFIX)) {
        const m = materialOf(rec.wrappedVolumeKey, keyId);
        if (m) out.push({ type: 'db-instance', arn: rec.arn, id: rec.id, materialIds: [m], ...(rec.status === 'deleting' ? { note: 'being deleted' } : {}) });
        // a change-key in flight keeps the new volume's key in its state: under this key too?
        const next = materialOf(rec.changeKey?.newWrappedVolumeKey, keyId);
        if (next) out.push({ type: 'db-instance', arn: rec.arn, id: `${rec.id}#change-key`, materialIds: [next], note: 'the new volume of a change-key in progress: re-wrapped when it finishes (re-run the incident), or cancel it' });
      }
      for (const rec of await all<SnapshotRecord>(SNAPSHOTS_PREFIX)) {
        const m = materialOf(rec.wrappedKey, keyId);
        if (m) out.push({ type: 'db-snapshot', arn: rec.arn, id: rec.id, materialIds: [m] });
      }
      return out;
    },
    async rewrap(h: DbHolding, keyId: string, compromised: ReadonlySet<string>): Promise<{ holding: DbHolding }> {
      if (h.type === 'db-instance' && !h.id.includes('#')) {
        for (;;) {
          const got = await b.getJSON<InstanceRecord>(instancePath(h.id));
          if (!got || got.value.arn !== h.arn) return { holding: { ...h, materialIds: [], note: 'gone (deleted meanwhile)' } };
          const m = materialOf(got.value.wrappedVolumeKey, keyId);
          if (m === null || !compromised.has(m)) return { holding: { ...h, materialIds: m ? [m] : [] } };
          const wrapped = await rewrapVolumeKey(core.keyDeps, got.value);
          try {
            await b.putJSON(instancePath(h.id), { ...got.value, wrappedVolumeKey: wrapped }, { expectVersion: got.version });
          } catch (e) {
            if (e instanceof CasConflict) continue; // the record changed meanwhile (a status move): read it again
            throw e;
          }
          return { holding: { ...h, materialIds: [materialOf(wrapped, keyId)!] } };
        }
      }
      if (h.type === 'db-snapshot') {
        for (;;) {
          const got = await b.getJSON<SnapshotRecord>(snapshotPath(h.id));
          if (!got || got.value.arn !== h.arn) return { holding: { ...h, materialIds: [], note: 'gone (deleted meanwhile)' } };
          const rec = got.value;
          const m = materialOf(rec.wrappedKey, keyId);
          if (m === null || !compromised.has(m)) return { holding: { ...h, materialIds: m ? [m] : [] } };
          const d = core.keyDeps;
          const onBehalf = { caller: serviceIdentity(d.region, d.accountId), request: {}, viaService: rdsPrincipal(d.region) };
          // recorded before it happens, as every use of a snapshot key (src/db/snapshots/keys.ts)
          await d.audit?.append(serviceEvent({
            service: 'kms', eventName: 'ReEncrypt', region: d.region, accountId: d.accountId, resources: [rec.kmsKeyArn!], now: d.clock(),
            details: { encryptionContext: JSON.stringify(snapshotContext(rec)), dbSnapshot: rec.arn, invokedBy: rdsPrincipal(d.region) },
          }));
          const { plaintext } = await d.kms.decryptInternal(Buffer.from(rec.wrappedKey!, 'base64'), snapshotContext(rec), onBehalf);
          let wrapped: string;
          try {
            wrapped = (await d.kms.encryptInternal(rec.kmsKeyArn!, plaintext, snapshotContext(rec), onBehalf)).blob.toString('base64');
          } finally {
            zeroize(plaintext);
          }
          try {
            await b.putJSON(snapshotPath(h.id), { ...rec, wrappedKey: wrapped }, { expectVersion: got.version });
          } catch (e) {
            if (e instanceof CasConflict) continue; // the record changed meanwhile (a status move): read it again
            throw e;
          }
          return { holding: { ...h, materialIds: [materialOf(wrapped, keyId)!] } };
        }
      }
      return { holding: h }; // a change-key's new volume: left for the report
    },
  };
}
