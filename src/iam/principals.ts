// Principals: the account's IAM users and roles, their inline identity policies and (for roles)
// trust policies. ARNs: arn:aws:iam::<account>:user/<name>, arn:aws:iam::<account>:role/<name>.
// Reads used on every request (the caller's record, for its policies) are cached under a second.
import { gatedBarrier, type BarrierView, type WriteGate } from '../storage/gate.ts';
import { AlreadyExistsException, LimitExceededException, NotFoundException, ValidationException } from '../errors.ts';
import { compilePolicy, type CompiledPolicy } from './policy/compile.ts';
import { compileSpec } from './policy/compile.ts';
import { parsePolicy } from './policy/parse.ts';
import { TtlCache, DEFAULT_TTL_MS } from './cache.ts';
import { DeleteConflictException } from './errors.ts';
import { userArn, roleArn } from './identity.ts';
import { PATHS, checkName, deleteOp, nowIso, putNew, transact, uniqueId, type RoleRecord, type UserRecord } from './model.ts';
import type { AccessKeyStore } from './access-keys.ts';

/** AWS: role MaxSessionDuration "from 1 hour to 12 hours"; default one hour. */
export const MIN_ROLE_SESSION = 3600;
export const MAX_ROLE_SESSION = 43200;
/** Aggregate size of a principal's inline policies (AWS: 2,048 for users, 10,240 for roles; rekey allows 10,240 for both). */
export const MAX_INLINE_POLICY_BYTES = 10240;

export interface PrincipalStoreOptions {
  accountId: string;
  partition?: string;
  clock?: () => Date;
  ttlMs?: number;
}

export function userNotFound(name: string): Error {
  return new NotFoundException(`The user with name ${name} cannot be found.`);
}
export function roleNotFound(name: string): Error {
  return new NotFoundException(`The role with name ${name} cannot be found.`);
}

/** Compiled inline policies, named for decisions. */
export function compiledPolicies(policies: Record<string, string>): CompiledPolicy[] {
  return Object.entries(policies).map(([name, text]) => {
    const c = compilePolicy(text, 'identity');
    return c.name === name ? c : { ...c, name };
  });
}

export class PrincipalStore {
  readonly accountId: string;
  readonly partition: string;
  private readonly clock: () => Date;
  private readonly users: TtlCache<UserRecord>;
  private readonly roles: TtlCache<RoleRecord>;

  constructor(
    private readonly barrier: BarrierView,
    private readonly keys: AccessKeyStore,
    private readonly o: PrincipalStoreOptions,
    shared?: { users: TtlCache<UserRecord>; roles: TtlCache<RoleRecord> },
  ) {
    this.accountId = o.accountId;
    this.partition = o.partition ?? 'aws';
    this.clock = o.clock ?? (() => new Date());
    const now = () => this.clock().getTime();
    this.users = shared?.users ?? new TtlCache(o.ttlMs ?? DEFAULT_TTL_MS, now);
    this.roles = shared?.roles ?? new TtlCache(o.ttlMs ?? DEFAULT_TTL_MS, now);
  }

  /**
   * The store as one mutating admin call sees it: the same caches, every write through the call's
   * gated view (src/storage/gate.ts), with `keys` the same call's view of the access keys.
   */
  forCall(gate: WriteGate, keys: AccessKeyStore): PrincipalStore {
    return new PrincipalStore(gatedBarrier(this.barrier, gate), keys, this.o, { users: this.users, roles: this.roles });
  }

  // ---- users

  async createUser(name: string): Promise<UserRecord> {
    checkName(name, 'userName', 64);
    const rec: UserRecord = { name, arn: userArn(this.accountId, name, this.partition), userId: uniqueId('AIDA', 17), accountId: this.accountId, createdAt: nowIso(this.clock), policies: {} };
    await putNew(this.barrier, PATHS.user(name), rec, () => new AlreadyExistsException(`User with name ${name} already exists.`));
    this.users.set(name.toLowerCase(), rec);
    return rec;
  }

  /** findUser from the cache only: undefined when not cached (or stale). */
  peekUser(name: string): UserRecord | null | undefined {
    return this.users.peek(name.toLowerCase());
  }

  /** findRole from the cache only: undefined when not cached (or stale). */
  peekRole(name: string): RoleRecord | null | undefined {
    return this.roles.peek(name.toLowerCase());
  }

  /** Cached read (for request handling). */
  async findUser(name: string): Promise<UserRecord | null> {
    return this.users.get(name.toLowerCase(), async () => (await this.barrier.getJSON<UserRecord>(PATHS.user(name)))?.value ?? null);
  }

  async getUser(name: string): Promise<UserRecord> {
    const e = await this.barrier.getJSON<UserRecord>(PATHS.user(name));
    if (!e) throw userNotFound(name);
    return e.value;
  }

  async listUsers(): Promise<UserRecord[]> {
    return this.listAll<UserRecord>(PATHS.users);
  }

  /**
   * AWS DeleteUser: "you must delete the items attached to the user manually" (access keys, inline
   * policies, MFA devices), else DeleteConflict. With `force`, they are deleted in the same
   * transaction. MFA devices are checked by the caller (IamService), which owns that store.
   */
  async deleteUser(name: string, opts: { force?: boolean; mfaDeviceCount?: number } = {}): Promise<{ deletedKeys: string[] }> {
    const e = await this.barrier.getJSON<UserRecord>(PATHS.user(name));
    if (!e) throw userNotFound(name);
    const keyPaths = await this.barrier.list(PATHS.userKeys(name));
    const keyIds = keyPaths.map((k) => k.slice(k.lastIndexOf('/') + 1));
    if (!opts.force) {
      if (keyIds.length > 0) throw new DeleteConflictException('Cannot delete entity, must delete access keys first.');
      if (Object.keys(e.value.policies).length > 0) throw new DeleteConflictException('Cannot delete entity, must delete policies first.');
      if ((opts.mfaDeviceCount ?? 0) > 0) throw new DeleteConflictException('Cannot delete entity, must delete MFA device first.');
    }
    await transact(this.barrier, [
      deleteOp(PATHS.user(name), e.version),
      ...keyIds.flatMap((id) => [deleteOp(PATHS.accessKey(id)), deleteOp(PATHS.userKey(name, id))]),
    ]);
    for (const id of keyIds) this.keys.forget(id);
    this.users.set(name.toLowerCase(), null);
    return { deletedKeys: keyIds };
  }

  // ---- roles

  async createRole(name: string, trustPolicy: string, opts: { description?: string; maxSessionDuration?: number } = {}): Promise<RoleRecord> {
    checkName(name, 'roleName', 64);
    parsePolicy(trustPolicy, 'trust');
    const max = opts.maxSessionDuration ?? MIN_ROLE_SESSION;
    if (!Number.isInteger(max) || max < MIN_ROLE_SESSION || max > MAX_ROLE_SESSION) {
      throw new ValidationException(`1 validation error detected: Value '${max}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between ${MIN_ROLE_SESSION} and ${MAX_ROLE_SESSION}`);
    }
    const rec: RoleRecord = {
      name, arn: roleArn(this.accountId, name, this.partition), roleId: uniqueId('AROA', 17), accountId: this.accountId,
      createdAt: nowIso(this.clock), trustPolicy, maxSessionDuration: max, policies: {},
      ...(opts.description !== undefined ? { description: opts.description } : {}),
    };
    await putNew(this.barrier, PATHS.role(name), rec, () => new AlreadyExistsException(`Role with name ${name} already exists.`));
    this.roles.set(name.toLowerCase(), rec);
    return rec;
  }

  async findRole(name: string): Promise<RoleRecord | null> {
    return this.roles.get(name.toLowerCase(), async () => (await this.barrier.getJSON<RoleRecord>(PATHS.role(name)))?.value ?? null);
  }

  async getRole(name: string): Promise<RoleRecord> {
    const e = await this.barrier.getJSON<RoleRecord>(PATHS.role(name));
    if (!e) throw roleNotFound(name);
    return e.value;
  }

  async listRoles(): Promise<RoleRecord[]> {
    return this.listAll<RoleRecord>(PATHS.roles);
  }

  /** AWS UpdateAssumeRolePolicy. */
  async updateTrustPolicy(name: string, trustPolicy: string): Promise<RoleRecord> {
    parsePolicy(trustPolicy, 'trust');
    return this.updateRole(name, (r) => ({ ...r, trustPolicy }));
  }

  async deleteRole(name: string, opts: { force?: boolean } = {}): Promise<void> {
    const e = await this.barrier.getJSON<RoleRecord>(PATHS.role(name));
    if (!e) throw roleNotFound(name);
    if (!opts.force && Object.keys(e.value.policies).length > 0) throw new DeleteConflictException('Cannot delete entity, must delete policies first.');
    await this.barrier.delete(PATHS.role(name), { expectVersion: e.version });
    this.roles.set(name.toLowerCase(), null);
  }

  // ---- inline policies (AWS PutUserPolicy / PutRolePolicy / Get / List / Delete)

  async putPolicy(kind: 'user' | 'role', principal: string, policyName: string, document: string): Promise<void> {
    checkName(policyName, 'policyName', 128);
    compileSpec(parsePolicy(document, 'identity'), 'identity');
    const update = (p: Record<string, string>) => {
      const next = { ...p, [policyName]: document };
      const size = Object.values(next).reduce((n, d) => n + Buffer.byteLength(d), 0);
      if (size > MAX_INLINE_POLICY_BYTES) throw new LimitExceededException(`Maximum policy size of ${MAX_INLINE_POLICY_BYTES} bytes exceeded for ${kind} ${principal}`);
      return next;
    };
    if (kind === 'user') await this.updateUser(principal, (u) => ({ ...u, policies: update(u.policies) }));
    else await this.updateRole(principal, (r) => ({ ...r, policies: update(r.policies) }));
  }

  async getPolicy(kind: 'user' | 'role', principal: string, policyName: string): Promise<string> {
    const rec = kind === 'user' ? await this.getUser(principal) : await this.getRole(principal);
    const doc = Object.hasOwn(rec.policies, policyName) ? rec.policies[policyName] : undefined;
    if (doc === undefined) throw new NotFoundException(`The ${kind} policy with name ${policyName} cannot be found.`);
    return doc;
  }

  async listPolicies(kind: 'user' | 'role', principal: string): Promise<string[]> {
    const rec = kind === 'user' ? await this.getUser(principal) : await this.getRole(principal);
    return Object.keys(rec.policies).sort();
  }

  async deletePolicy(kind: 'user' | 'role', principal: string, policyName: string): Promise<void> {
    const drop = (p: Record<string, string>) => {
      if (!Object.hasOwn(p, policyName)) throw new NotFoundException(`The ${kind} policy with name ${policyName} cannot be found.`);
      const { [policyName]: _gone, ...rest } = p;
      return rest;
    };
    if (kind === 'user') await this.updateUser(principal, (u) => ({ ...u, policies: drop(u.policies) }));
    else await this.updateRole(principal, (r) => ({ ...r, policies: drop(r.policies) }));
  }

  // ---- helpers

  private updateUser(name: string, f: (u: UserRecord) => UserRecord): Promise<UserRecord> {
    return this.update(PATHS.user(name), f, () => userNotFound(name), this.users, name);
  }

  private updateRole(name: string, f: (r: RoleRecord) => RoleRecord): Promise<RoleRecord> {
    return this.update(PATHS.role(name), f, () => roleNotFound(name), this.roles, name);
  }

  /** Read-modify-write with compare-and-swap, retried when another writer got there first. */
  private async update<T>(path: string, f: (v: T) => T, notFound: () => Error, cache: TtlCache<T>, name: string): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const e = await this.barrier.getJSON<T>(path);
      if (!e) throw notFound();
      const next = f(e.value);
      try {
        await this.barrier.putJSON(path, next, { expectVersion: e.version });
      } catch (err) {
        if ((err as Error).name === 'CasConflict' && attempt < 4) continue;
        throw err;
      }
      cache.set(name.toLowerCase(), next);
      return next;
    }
  }

  private async listAll<T>(prefix: string): Promise<T[]> {
    const out: T[] = [];
    for (const k of await this.barrier.list(prefix)) {
      const e = await this.barrier.getJSON<T>(k);
      if (e) out.push(e.value);
    }
    return out;
  }
}
