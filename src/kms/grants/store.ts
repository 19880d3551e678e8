// Grant persistence: one GrantSet per key, written with the key record (grantCount) and the
// retiring-principal index in one transaction, each with compare-and-swap, retried on conflict.
import { needs } from '../../errors.ts';
import type { Barrier } from '../../storage/barrier.ts';
import type { KeyStore, LoadedKey, Write } from '../keystore.ts';
import type { KeyRecord } from '../model.ts';
import { grantsPath, retiringPath, retiringPrefix, type GrantRecord, type GrantSet } from './model.ts';

export interface GrantChange {
  add?: GrantRecord;
  remove?: GrantRecord;
}

export class GrantStore {
  constructor(private readonly barrier: Barrier) {}

  /** The stored grants of a key (uncached; for listings and changes). */
  async read(keyId: string): Promise<{ set: GrantSet; version: number }> {
    const got = await this.barrier.getJSON<GrantSet>(grantsPath(keyId));
    if (!got) return { set: { v: 1, keyId, keyVersion: 0, grants: [] }, version: 0 };
    needs(got.value.v === 1 && got.value.keyId === keyId, `unexpected grant set at ${grantsPath(keyId)}`);
    return { set: got.value, version: got.version };
  }

  /**
   * The grants of a cached key, read once per version of its record (every grant change writes a new
   * version, so this is never older than the key record it hangs on).
   */
  forKey(key: LoadedKey): Promise<GrantSet> {
    if (!key.record.grantCount) return Promise.resolve({ v: 1, keyId: key.record.keyId, keyVersion: key.version, grants: [] });
    const p = (key.grants ??= this.read(key.record.keyId).then((r) => r.set).catch((e: unknown) => {
      key.grants = undefined;
      throw e;
    })) as Promise<GrantSet>;
    return p;
  }

  /**
   * Read-modify-write of a key's grants. `decide` sees the current key record and grants and returns
   * the change (or null for none; it may throw). Returns the change and the key record version
   * the transaction wrote. Writes go through `keys` (the operation's ctx.store), so whatever guards
   * that store's writes guards these too.
   */
  async change(keys: KeyStore, keyId: string, missing: () => Error, decide: (rec: KeyRecord, set: GrantSet) => GrantChange | null): Promise<{ change: GrantChange | null; keyVersion: number }> {
    return keys.retry(async () => {
      const key = await keys.readKey(keyId);
      if (!key) throw missing();
      const { set, version } = await this.read(keyId);
      const change = decide(key.value, set);
      if (!change) return { change, keyVersion: key.version };
      let grants = set.grants;
      const writes: Write[] = [];
      if (change.remove) {
        const gone = change.remove;
        grants = grants.filter((g) => g.grantId !== gone.grantId);
        if (gone.retiringPrincipal) writes.push({ type: 'delete', path: retiringPath(gone.retiringPrincipal, gone.grantId) });
      }
      if (change.add) {
        grants = [...grants, change.add];
        if (change.add.retiringPrincipal) writes.push({ type: 'put', path: retiringPath(change.add.retiringPrincipal, change.add.grantId), value: { keyId } });
      }
      const keyVersion = key.version + 1; // a put bumps the version by one
      key.value.grantCount = grants.length;
      writes.push(
        { type: 'key', rec: key.value, expectVersion: key.version },
        { type: 'put', path: grantsPath(keyId), value: { v: 1, keyId, keyVersion, grants } satisfies GrantSet, expectVersion: version },
      );
      await keys.commit(writes);
      return { change, keyVersion };
    });
  }

  /** Index entries (key id, grant id) of the grants this principal may retire, after `after` (a grant id path suffix). */
  async retirable(principal: string, after: string | undefined, limit: number): Promise<{ keyId: string; grantId: string }[]> {
    const prefix = retiringPrefix(principal);
    const paths = await this.barrier.list(prefix, { ...(after !== undefined ? { after: prefix + after } : {}), limit });
    const out: { keyId: string; grantId: string }[] = [];
    for (const p of paths) {
      const got = await this.barrier.getJSON<{ keyId: string }>(p);
      if (got) out.push({ keyId: got.value.keyId, grantId: p.slice(prefix.length) });
    }
    return out;
  }
}
