// MariaDB keys under a KMS key, for incident response (src/compliance/incident, through its
// KeyHolder port, wired by src/server/start.ts). A keyring is one holding: every version of every
// key in it is a data key kept as a KMS ciphertext. Re-wrapping first adds a new version of every
// key under the key's new material (sync: new data keys, which InnoDB re-encrypts its pages to,
// online), then re-encrypts the older versions' ciphertexts to the new material (InnoDB still reads
// pages under them until it has re-encrypted), under the keyring record's compare-and-swap.
import { zeroize } from '../crypto/index.ts';
import { serviceEvent, type Appender } from '../audit/index.ts';
import { materialIdOf, parseCiphertext } from '../kms/ciphertext.ts';
import type { KmsService } from '../kms/service.ts';
import { CasConflict } from '../storage/backend.ts';
import type { Barrier } from '../storage/barrier.ts';
import { encryptionContext, PATHS, type KeyringRecord } from './model.ts';
import type { KeyserveService } from './service.ts';

/** Structurally the Holding of src/compliance/incident/model.ts (keyserve does not import compliance). */
export interface KeyringHolding {
  type: 'keyserve-keyring';
  arn: string;
  id: string;
  materialIds: string[];
  note?: string;
}


const materialsOf = (rec: KeyringRecord, keyId: string): string[] =>
  [...new Set(Object.values(rec.keys).flat().map((v) => materialIdOf(v.blob, keyId)).filter((m): m is string => m !== null))];

export function keyserveKeyHolder(o: { barrier: Barrier; kms: KmsService; keyserve: KeyserveService; audit?: Appender; region: string; accountId: string; clock: () => Date }) {
  const b = o.barrier;
  return {
    name: 'keyserve',
    async list(keyId: string): Promise<KeyringHolding[]> {
      const out: KeyringHolding[] = [];
      for (const p of await b.list(PATHS.keyrings)) {
        const rec = (await b.getJSON<KeyringRecord>(p))?.value;
        if (!rec || rec.kmsKeyId !== keyId) continue;
        out.push({ type: 'keyserve-keyring', arn: rec.arn, id: rec.name, materialIds: materialsOf(rec, keyId) });
      }
      return out;
    },
    async rewrap(h: KeyringHolding, keyId: string, compromised: ReadonlySet<string>): Promise<{ holding: KeyringHolding }> {
      await o.keyserve.sync(h.id); // a new version of every key under the current material (idempotent)
      for (;;) {
        const got = await b.getJSON<KeyringRecord>(PATHS.keyring(h.id));
        if (!got || got.value.arn !== h.arn) return { holding: { ...h, materialIds: [], note: 'gone (deleted meanwhile)' } };
        const rec = got.value;
        let changed = 0;
        for (const [id, versions] of Object.entries(rec.keys)) {
          for (const v of versions) {
            const m = materialIdOf(v.blob, keyId);
            if (m === null || !compromised.has(m)) continue;
            const ctx = encryptionContext(rec.name, Number(id), v.version);
            const { plaintext } = await o.kms.decryptInternal(Buffer.from(v.blob, 'base64'), ctx);
            try {
              const { blob } = await o.kms.encryptInternal(keyId, plaintext, ctx);
              v.blob = blob.toString('base64');
              v.materialId = parseCiphertext(blob).materialId;
              changed++;
            } finally {
              zeroize(plaintext);
            }
          }
        }
        if (changed === 0) return { holding: { ...h, materialIds: materialsOf(rec, keyId) } };
        await o.audit?.append(serviceEvent({
          service: 'keyserve', eventName: 'KeyVersionsRewrapped', region: o.region, accountId: o.accountId, resources: [rec.arn, rec.kmsKeyArn], now: o.clock(),
          details: { keyring: rec.name, versions: changed },
        }));
        try {
          await b.putJSON(PATHS.keyring(h.id), rec, { expectVersion: got.version });
        } catch (e) {
          if (e instanceof CasConflict) continue; // a sync or a new key meanwhile: read it again
          throw e;
        }
        return { holding: { ...h, materialIds: materialsOf(rec, keyId) } };
      }
    },
  };
}
