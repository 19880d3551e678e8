// Access keys: id -> secret + principal. Stored only through the barrier. Looked up on every
// request, so kept in memory and re-read from storage at most once a second per unknown id.
import type { Barrier } from '../storage/barrier.ts';
import { randomBytes, randomInt } from '../crypto/index.ts';
import type { Credential } from './sigv4.ts';

export interface AccessKeyRecord {
  accessKeyId: string;
  secretAccessKey: string;
  principalArn: string;
  accountId: string;
  status: 'Active' | 'Inactive';
  createdAt: string;
}

const PREFIX = 'iam/access-keys/';
const BOOTSTRAP = 'iam/bootstrap';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function newAccessKeyId(): string {
  let s = 'AKIA';
  for (let i = 0; i < 16; i++) s += ALNUM[randomInt(ALNUM.length)];
  return s;
}

export function newSecretAccessKey(): string {
  return randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'z');
}

export class AccessKeyStore {
  private cache = new Map<string, { rec: AccessKeyRecord | null; at: number }>();

  constructor(private readonly barrier: Barrier, private readonly ttlMs = 1000) {}

  async put(rec: AccessKeyRecord): Promise<void> {
    await this.barrier.putJSON(PREFIX + rec.accessKeyId, rec);
    this.cache.set(rec.accessKeyId, { rec, at: Date.now() });
  }

  async get(id: string): Promise<AccessKeyRecord | null> {
    if (!/^[A-Z0-9]{16,128}$/.test(id)) return null;
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.rec;
    const e = await this.barrier.getJSON<AccessKeyRecord>(PREFIX + id);
    const rec = e?.value ?? null;
    if (this.cache.size > 10000) this.cache.clear();
    this.cache.set(id, { rec, at: Date.now() });
    return rec;
  }

  /** Synchronous view for the signature check; call `get` first to warm it. */
  credential(id: string): Credential | undefined {
    const r = this.cache.get(id)?.rec;
    return r && r.status === 'Active' ? { accessKeyId: r.accessKeyId, secretAccessKey: r.secretAccessKey } : undefined;
  }

  /**
   * Ensures the bootstrap administrator's access key exists. With fixed credentials (env), they
   * replace the stored ones; otherwise the first start generates them. Returns the record and
   * whether it was created now.
   */
  async bootstrap(accountId: string, fixed?: { accessKeyId: string; secretAccessKey: string }): Promise<{ rec: AccessKeyRecord; created: boolean }> {
    const principalArn = `arn:aws:iam::${accountId}:user/rekey-admin`;
    const current = await this.barrier.getJSON<{ accessKeyId: string }>(BOOTSTRAP);
    if (current && (!fixed || fixed.accessKeyId === current.value.accessKeyId)) {
      const rec = await this.get(current.value.accessKeyId);
      if (rec && (!fixed || rec.secretAccessKey === fixed.secretAccessKey)) return { rec, created: false };
    }
    const rec: AccessKeyRecord = {
      accessKeyId: fixed?.accessKeyId ?? newAccessKeyId(),
      secretAccessKey: fixed?.secretAccessKey ?? newSecretAccessKey(),
      principalArn, accountId, status: 'Active', createdAt: new Date().toISOString(),
    };
    if (current && current.value.accessKeyId !== rec.accessKeyId) await this.barrier.delete(PREFIX + current.value.accessKeyId);
    await this.put(rec);
    await this.barrier.putJSON(BOOTSTRAP, { accessKeyId: rec.accessKeyId });
    return { rec, created: true };
  }
}
