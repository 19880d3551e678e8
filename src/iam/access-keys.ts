// Access keys: id -> secret + principal. Stored only through the barrier; the secret is returned
// once, when the key is created. Looked up on every request, so cached in memory for under a
// second (TtlCache): a key disabled or deleted on another node stops working within that time, on
// this node at once.
import { gatedBarrier, type BarrierView, type WriteGate } from '../storage/gate.ts';
import { randomBytes } from '../crypto/index.ts';
import { LimitExceededException, NotFoundException } from '../errors.ts';
import { TtlCache, DEFAULT_TTL_MS } from './cache.ts';
import { PATHS, uniqueId, putOp, deleteOp, transact, BOOTSTRAP_USER, ADMIN_POLICY_NAME, ADMINISTRATOR_ACCESS, type UserRecord } from './model.ts';

export interface AccessKeyRecord {
  accessKeyId: string;
  secretAccessKey: string;
  principalArn: string;
  accountId: string;
  status: 'Active' | 'Inactive';
  createdAt: string;
  /** The IAM user owning the key (absent only in records written before users existed). */
  userName?: string;
}

/** What listing shows: never the secret (AWS ListAccessKeys: AccessKeyMetadata). */
export interface AccessKeyMetadata {
  accessKeyId: string;
  userName: string;
  status: 'Active' | 'Inactive';
  createdAt: string;
}

const BOOTSTRAP = 'iam/bootstrap';
/** AWS IAM: "Cannot exceed quota for AccessKeysPerUser: 2". */
export const MAX_KEYS_PER_USER = 2;

export function newAccessKeyId(): string {
  return uniqueId('AKIA', 16);
}

/** 40 characters, like AWS secret access keys. */
export function newSecretAccessKey(): string {
  return randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'z');
}

export function accessKeyNotFound(id: string): Error {
  return new NotFoundException(`The Access Key with id ${id} cannot be found.`);
}

export class AccessKeyStore {
  private readonly cache: TtlCache<AccessKeyRecord>;

  constructor(private readonly barrier: BarrierView, ttlMs = DEFAULT_TTL_MS, private readonly now: () => number = Date.now, shared?: TtlCache<AccessKeyRecord>) {
    this.cache = shared ?? new TtlCache(ttlMs, now);
  }

  /** The store as one mutating admin call sees it: the same cache, writes through the call's gated view (src/storage/gate.ts). */
  forCall(gate: WriteGate): AccessKeyStore {
    return new AccessKeyStore(gatedBarrier(this.barrier, gate), DEFAULT_TTL_MS, this.now, this.cache);
  }

  async put(rec: AccessKeyRecord): Promise<void> {
    const ops = [putOp(PATHS.accessKey(rec.accessKeyId), rec)];
    if (rec.userName) ops.push(putOp(PATHS.userKey(rec.userName, rec.accessKeyId), { accessKeyId: rec.accessKeyId }));
    await transact(this.barrier, ops);
    this.cache.set(rec.accessKeyId, rec);
  }

  /** The cached record without reading storage: null when known absent, undefined when not cached (or stale). */
  peek(id: string): AccessKeyRecord | null | undefined {
    return this.cache.peek(id);
  }

  async get(id: string): Promise<AccessKeyRecord | null> {
    if (!/^[A-Z0-9]{16,128}$/.test(id)) return null;
    return this.cache.get(id, async () => (await this.barrier.getJSON<AccessKeyRecord>(PATHS.accessKey(id)))?.value ?? null);
  }


  /** Creates a key for a user (AWS CreateAccessKey). The returned record holds the secret: show it once. */
  async create(user: Pick<UserRecord, 'name' | 'arn' | 'accountId'>): Promise<AccessKeyRecord> {
    const existing = await this.barrier.list(PATHS.userKeys(user.name));
    if (existing.length >= MAX_KEYS_PER_USER) throw new LimitExceededException(`Cannot exceed quota for AccessKeysPerUser: ${MAX_KEYS_PER_USER}`);
    const rec: AccessKeyRecord = {
      accessKeyId: newAccessKeyId(), secretAccessKey: newSecretAccessKey(), principalArn: user.arn, accountId: user.accountId,
      status: 'Active', createdAt: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'), userName: user.name,
    };
    await this.put(rec);
    return rec;
  }

  async listForUser(userName: string): Promise<AccessKeyMetadata[]> {
    const out: AccessKeyMetadata[] = [];
    for (const k of await this.barrier.list(PATHS.userKeys(userName))) {
      const id = k.slice(k.lastIndexOf('/') + 1);
      const e = await this.barrier.getJSON<AccessKeyRecord>(PATHS.accessKey(id));
      if (e) out.push({ accessKeyId: id, userName: e.value.userName ?? userName, status: e.value.status, createdAt: e.value.createdAt });
    }
    return out;
  }

  /** AWS UpdateAccessKey: Active/Inactive. The key must belong to `userName` when given. */
  async setStatus(id: string, status: 'Active' | 'Inactive', userName?: string): Promise<AccessKeyRecord> {
    const e = await this.barrier.getJSON<AccessKeyRecord>(PATHS.accessKey(id));
    if (!e || (userName !== undefined && e.value.userName?.toLowerCase() !== userName.toLowerCase())) throw accessKeyNotFound(id);
    const rec = { ...e.value, status };
    await this.barrier.putJSON(PATHS.accessKey(id), rec, { expectVersion: e.version });
    this.cache.set(id, rec);
    return rec;
  }

  async delete(id: string, userName?: string): Promise<void> {
    const e = await this.barrier.getJSON<AccessKeyRecord>(PATHS.accessKey(id));
    if (!e || (userName !== undefined && e.value.userName?.toLowerCase() !== userName.toLowerCase())) throw accessKeyNotFound(id);
    const ops = [deleteOp(PATHS.accessKey(id), e.version)];
    if (e.value.userName) ops.push(deleteOp(PATHS.userKey(e.value.userName, id)));
    await transact(this.barrier, ops);
    this.cache.set(id, null);
  }

  /** Forgets a cached key (used when another component deleted it in a transaction of its own). */
  forget(id: string): void {
    this.cache.set(id, null);
  }

  /**
   * Ensures the bootstrap administrator exists: the IAM user rekey-admin with the
   * AdministratorAccess policy, and its access key. With fixed credentials (env), they replace the
   * stored ones; otherwise the first start generates them. Returns the key record and whether it
   * was created now.
   */
  async bootstrap(accountId: string, fixed?: { accessKeyId: string; secretAccessKey: string }): Promise<{ rec: AccessKeyRecord; created: boolean }> {
    const principalArn = `arn:aws:iam::${accountId}:user/${BOOTSTRAP_USER}`;
    await this.ensureBootstrapUser(accountId, principalArn);
    const current = await this.barrier.getJSON<{ accessKeyId: string }>(BOOTSTRAP);
    if (current && (!fixed || fixed.accessKeyId === current.value.accessKeyId)) {
      const rec = await this.get(current.value.accessKeyId);
      if (rec && (!fixed || rec.secretAccessKey === fixed.secretAccessKey)) {
        if (!rec.userName) await this.put({ ...rec, userName: BOOTSTRAP_USER }); // records from before users existed
        return { rec, created: false };
      }
    }
    const rec: AccessKeyRecord = {
      accessKeyId: fixed?.accessKeyId ?? newAccessKeyId(),
      secretAccessKey: fixed?.secretAccessKey ?? newSecretAccessKey(),
      principalArn, accountId, status: 'Active', createdAt: new Date(this.now()).toISOString(), userName: BOOTSTRAP_USER,
    };
    if (current && current.value.accessKeyId !== rec.accessKeyId) {
      await transact(this.barrier, [deleteOp(PATHS.accessKey(current.value.accessKeyId)), deleteOp(PATHS.userKey(BOOTSTRAP_USER, current.value.accessKeyId))]);
      this.cache.set(current.value.accessKeyId, null);
    }
    await this.put(rec);
    await this.barrier.putJSON(BOOTSTRAP, { accessKeyId: rec.accessKeyId });
    return { rec, created: true };
  }

  private async ensureBootstrapUser(accountId: string, arn: string): Promise<void> {
    if (await this.barrier.getJSON<UserRecord>(PATHS.user(BOOTSTRAP_USER))) return;
    const user: UserRecord = {
      name: BOOTSTRAP_USER, arn, userId: uniqueId('AIDA', 17), accountId, createdAt: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      policies: { [ADMIN_POLICY_NAME]: ADMINISTRATOR_ACCESS },
    };
    try {
      await this.barrier.putJSON(PATHS.user(BOOTSTRAP_USER), user, { expectVersion: 0 });
    } catch (e) {
      if ((e as Error).name !== 'CasConflict') throw e; // another node created it first
    }
  }
}
