// The keyserve domain: keyrings of versioned MariaDB keys under KMS keys, and the tokens that read
// them (docs/MARIADB.md). The Vault KV v2 adapter (src/http/vault-kv.ts) and the admin routes
// (src/http/admin-keyserve.ts) adapt it; nothing here knows HTTP.
//
// - A version is a data key made as GenerateDataKey does (32 random bytes, encrypted under the KMS
//   key's current material) and stored only as its KMS ciphertext, in the keyring record behind the
//   barrier. Reading a key decrypts it through KMS: a disabled key or one pending deletion stops
//   every read (DisabledException / KMSInvalidStateException).
// - A rotation of the KMS key (automatic, on demand, usage budget) adds a new version of every key
//   under it: `syncKmsKey` on the KMS key event, `syncAll` periodically, and a read of a key's
//   latest version first brings a keyring whose newest version predates the current material up to
//   date. Old versions stay while InnoDB (or the redo log, binlogs, Aria tables) may still read them.
//   A service keyring (an RDS mariadb instance's) retires versions its server provably no longer
//   needs (`retireBelow`, decided by src/db/mariadb-retire.ts); user keyrings never retire.
// - A token is bound to a principal and one keyring; each read re-checks the token (not revoked),
//   the principal (still exists) and its identity policies (READ_ACTION on the keyring's ARN).
import { randomBytes, sha256, zeroize } from '../crypto/index.ts';
import { AccessDeniedException, AlreadyExistsException, NotFoundException, ValidationException } from '../errors.ts';
import { CasConflict } from '../storage/backend.ts';
import { Barrier } from '../storage/barrier.ts';
import { gatedBarrier, WriteGate, type BarrierView, type CommitGate } from '../storage/gate.ts';
import type { KmsService, OnBehalf } from '../kms/service.ts';
import type { IamService } from '../iam/service.ts';
import type { Identity, RequestFacts } from '../iam/identity.ts';
import { compiledPolicies } from '../iam/principals.ts';
import { serviceEvent, type Appender } from '../audit/index.ts';
import {
  encryptionContext, KEYRING_NAME, keyringArn, MAX_KEY_ID, PATHS, READ_ACTION,
  type KeyringRecord, type KeyVersion, type TokenRecord,
} from './model.ts';

export interface KeyserveOptions {
  barrier: Barrier;
  kms: KmsService;
  iam: IamService;
  region: string;
  accountId: string;
  /** Service events (KeyVersionsAdded) go here; absent: not recorded. */
  audit?: Appender;
  clock?: () => Date;
  log?: (m: string) => void;
}

/** What a mutating call passes: who calls, and the audit gate its first write waits for. */
export interface KeyserveCall {
  caller: Identity;
  request: RequestFacts & { beforeCommit?: CommitGate };
}

export interface KeyringView {
  name: string;
  arn: string;
  kmsKeyArn: string;
  createdAt: string;
  keys: { keyId: number; versions: number; latestVersion: number; latestMaterialId: string }[];
}

export interface ReadKey {
  /** The key as the plugin wants it: hexadecimal. */
  hex: string;
  version: number;
  createdAt: number;
}

const DATA_KEY_BYTES = 32;
const DEFAULT_KEY_IDS = [1, 2];

function view(call: KeyserveCall | undefined, barrier: BarrierView): BarrierView {
  const gate = call?.request.beforeCommit;
  return gate ? gatedBarrier(barrier, new WriteGate(gate)) : barrier;
}

function parseKeyId(id: unknown): number {
  const n = typeof id === 'number' ? id : typeof id === 'string' && /^[0-9]{1,10}$/.test(id) ? Number(id) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_KEY_ID) throw new ValidationException('keyId must be an integer from 1 to 4294967295.');
  return n;
}

export function checkKeyringName(name: string): string {
  if (!KEYRING_NAME.test(name)) throw new ValidationException('A keyring name is 1 to 63 lower-case letters, digits and hyphens, starting with a letter.');
  return name;
}

export class KeyserveService {
  private readonly scope: { region: string; accountId: string };
  private readonly clock: () => Date;
  private readonly syncing = new Map<string, Promise<number>>();

  constructor(private readonly o: KeyserveOptions) {
    this.scope = { region: o.region, accountId: o.accountId };
    this.clock = o.clock ?? (() => new Date());
  }

  arnOf(name: string): string {
    return keyringArn(this.scope, name);
  }

  private onBehalf(call: KeyserveCall): OnBehalf {
    return { caller: call.caller, request: call.request, viaService: `keyserve.${this.o.region}.amazonaws.com` };
  }

  /** A new version: a fresh data key encrypted under the KMS key's current material. */
  private async newVersion(rec: Pick<KeyringRecord, 'name' | 'kmsKeyId'>, keyId: number, version: number, onBehalf?: OnBehalf): Promise<KeyVersion> {
    const materialId = await this.o.kms.currentMaterialId(rec.kmsKeyId);
    if (!materialId) throw new NotFoundException(`The KMS key of keyring ${rec.name} no longer exists.`);
    const dk = randomBytes(DATA_KEY_BYTES);
    try {
      const { blob } = await this.o.kms.encryptInternal(rec.kmsKeyId, dk, encryptionContext(rec.name, keyId, version), onBehalf);
      return { version, materialId, blob: blob.toString('base64'), createdAt: this.clock().getTime() };
    } finally {
      zeroize(dk);
    }
  }

  async createKeyring(name: string, kmsKeyIdent: string, keyIds: readonly number[] | undefined, call: KeyserveCall): Promise<KeyringView> {
    checkKeyringName(name);
    const ids = [...new Set((keyIds ?? DEFAULT_KEY_IDS).map(parseKeyId))];
    const key = await this.o.kms.resolveForUse(kmsKeyIdent);
    if (await this.o.barrier.getJSON(PATHS.keyring(name))) throw new AlreadyExistsException(`Keyring ${name} already exists.`);
    const rec: KeyringRecord = { name, arn: this.arnOf(name), kmsKeyId: key.keyId, kmsKeyArn: key.arn, createdAt: this.clock().getTime(), keys: {} };
    for (const id of ids) rec.keys[String(id)] = [await this.newVersion(rec, id, 1, this.onBehalf(call))];
    try {
      await view(call, this.o.barrier).putJSON(PATHS.keyring(name), rec, { expectVersion: 0 });
    } catch (e) {
      if (e instanceof CasConflict) throw new AlreadyExistsException(`Keyring ${name} already exists.`);
      throw e;
    }
    return this.toView(rec);
  }

  private async load(name: string): Promise<{ value: KeyringRecord; version: number }> {
    checkKeyringName(name);
    const e = await this.o.barrier.getJSON<KeyringRecord>(PATHS.keyring(name));
    if (!e) throw new NotFoundException(`Keyring ${name} does not exist.`);
    return e;
  }

  async describe(name: string): Promise<KeyringView> {
    return this.toView((await this.load(name)).value);
  }

  async list(): Promise<KeyringView[]> {
    const paths = await this.o.barrier.list(PATHS.keyrings);
    const recs = await Promise.all(paths.map((p) => this.o.barrier.getJSON<KeyringRecord>(p)));
    return recs.flatMap((r) => (r ? [this.toView(r.value)] : []));
  }

  private toView(rec: KeyringRecord): KeyringView {
    return {
      name: rec.name, arn: rec.arn, kmsKeyArn: rec.kmsKeyArn, createdAt: new Date(rec.createdAt).toISOString(),
      keys: Object.entries(rec.keys).map(([id, vs]) => ({ keyId: Number(id), versions: vs.length, latestVersion: vs.at(-1)!.version, latestMaterialId: vs.at(-1)!.materialId }))
        .sort((a, b) => a.keyId - b.keyId),
    };
  }

  /** Adds key `keyId` (version 1) to a keyring. */
  async createKey(name: string, keyIdIn: unknown, call: KeyserveCall): Promise<KeyringView> {
    const keyId = parseKeyId(keyIdIn);
    const { value: rec, version } = await this.load(name);
    if (rec.keys[String(keyId)]) throw new AlreadyExistsException(`Key ${keyId} already exists in keyring ${name}.`);
    rec.keys[String(keyId)] = [await this.newVersion(rec, keyId, 1, this.onBehalf(call))];
    try {
      await view(call, this.o.barrier).putJSON(PATHS.keyring(name), rec, { expectVersion: version });
    } catch (e) {
      if (e instanceof CasConflict) throw new AlreadyExistsException(`Keyring ${name} changed during the call; try again.`);
      throw e;
    }
    return this.toView(rec);
  }

  /**
   * Brings every key of a keyring to the KMS key's current material: a key whose newest version was
   * made under an older material gets a new version. Idempotent; concurrent calls on one node share
   * one run, and a compare-and-swap conflict with another node is retried. Returns versions added.
   */
  sync(name: string, call?: KeyserveCall): Promise<number> {
    // an admin call's sync passes its audit gate before writing: not shared with the background ones
    if (call?.request.beforeCommit) return this.syncOnce(name, call.request.beforeCommit);
    let p = this.syncing.get(name);
    if (!p) {
      p = this.syncOnce(name).finally(() => this.syncing.delete(name));
      this.syncing.set(name, p);
    }
    return p;
  }

  private async syncOnce(name: string, gate?: CommitGate): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const { value: rec, version } = await this.load(name);
      const current = await this.o.kms.currentMaterialId(rec.kmsKeyId);
      if (!current) return 0;
      const added: string[] = [];
      for (const [id, versions] of Object.entries(rec.keys)) {
        const latest = versions.at(-1)!;
        if (latest.materialId === current) continue;
        const next = latest.version + (rec.versionStep ?? 1);
        versions.push(await this.newVersion(rec, Number(id), next));
        added.push(`${id}:${next}`);
      }
      if (added.length === 0) return 0;
      try {
        await gate?.();
        await this.o.barrier.putJSON(PATHS.keyring(name), rec, { expectVersion: version });
      } catch (e) {
        if (e instanceof CasConflict && attempt < 5) continue;
        throw e;
      }
      await this.o.audit?.append(serviceEvent({
        service: 'keyserve', eventName: 'KeyVersionsAdded', region: this.o.region, accountId: this.o.accountId,
        resources: [rec.arn], now: this.clock(), details: { keyring: name, kmsKeyArn: rec.kmsKeyArn, keyMaterialId: current, versions: added.join(',') },
      })).catch(() => this.o.log?.(`keyserve: could not audit KeyVersionsAdded for ${name}`));
      return added.length;
    }
  }

  /** Every keyring under a KMS key (by key id): called on its RotateKey event. */
  async syncKmsKey(kmsKeyId: string): Promise<number> {
    let n = 0;
    for (const p of await this.o.barrier.list(PATHS.keyrings)) {
      const e = await this.o.barrier.getJSON<KeyringRecord>(p);
      if (e && e.value.kmsKeyId === kmsKeyId) n += await this.sync(e.value.name);
    }
    return n;
  }

  async syncAll(): Promise<number> {
    let n = 0;
    for (const p of await this.o.barrier.list(PATHS.keyrings)) {
      const name = p.slice(PATHS.keyrings.length);
      try {
        n += await this.sync(name);
      } catch (e) {
        this.o.log?.(`keyserve: sync of ${name}: ${e instanceof Error ? e.name : 'error'}`);
      }
    }
    return n;
  }

  // ---- tokens

  async issueToken(name: string, description: string | undefined, call: KeyserveCall): Promise<{ token: string; accessor: string; keyring: string; principalArn: string }> {
    await this.load(name);
    const c = call.caller;
    if (c.type === 'AssumedRole') throw new ValidationException('Tokens are issued to IAM users or the account root, not to role sessions.');
    const token = 'rk.' + randomBytes(32).toString('base64url');
    const accessor = randomBytes(12).toString('hex');
    const hash = sha256(token).toString('hex');
    const rec: TokenRecord = {
      accessor, keyring: name, principalArn: c.arn, ...(c.type === 'IAMUser' && c.userName ? { userName: c.userName } : {}),
      ...(description ? { description } : {}), createdAt: this.clock().getTime(),
    };
    await view(call, this.o.barrier).transaction([
      Barrier.putOp(PATHS.token(hash), rec, 0),
      Barrier.putOp(PATHS.accessor(name, accessor), { hash }, 0),
    ]);
    return { token, accessor, keyring: name, principalArn: c.arn };
  }

  async revokeToken(name: string, accessor: string, call: KeyserveCall): Promise<{ accessor: string; revokedAt: string }> {
    checkKeyringName(name);
    if (!/^[0-9a-f]{24}$/.test(accessor)) throw new ValidationException('An accessor is 24 hexadecimal digits.');
    const idx = await this.o.barrier.getJSON<{ hash: string }>(PATHS.accessor(name, accessor));
    if (!idx) throw new NotFoundException(`No token ${accessor} for keyring ${name}.`);
    const t = await this.o.barrier.getJSON<TokenRecord>(PATHS.token(idx.value.hash));
    if (!t) throw new NotFoundException(`No token ${accessor} for keyring ${name}.`);
    if (t.value.revokedAt) return { accessor, revokedAt: new Date(t.value.revokedAt).toISOString() };
    const revokedAt = this.clock().getTime();
    await view(call, this.o.barrier).putJSON(PATHS.token(idx.value.hash), { ...t.value, revokedAt }, { expectVersion: t.version });
    return { accessor, revokedAt: new Date(revokedAt).toISOString() };
  }

  // ---- keyrings and tokens a service makes for its own resources (RDS mariadb instances, src/db)

  /**
   * A keyring for a service's resource, keys 1 and 2 made by rekey itself under `kmsKeyArn` (the
   * caller of the service's API was authorized for the key already, as RDS checks kms:CreateGrant).
   * Idempotent: an existing keyring of the same owner is returned as it is.
   */
  async ensureServiceKeyring(name: string, kmsKeyArn: string, owner: string, versionStep = 2): Promise<KeyringView> {
    checkKeyringName(name);
    const got = await this.o.barrier.getJSON<KeyringRecord>(PATHS.keyring(name));
    if (got) {
      if (got.value.ownedBy !== owner) throw new AlreadyExistsException(`Keyring ${name} already exists.`);
      return this.toView(got.value);
    }
    const key = await this.o.kms.resolveForUse(kmsKeyArn);
    const rec: KeyringRecord = { name, arn: this.arnOf(name), kmsKeyId: key.keyId, kmsKeyArn: key.arn, createdAt: this.clock().getTime(), keys: {}, versionStep, ownedBy: owner };
    for (const id of DEFAULT_KEY_IDS) rec.keys[String(id)] = [await this.newVersion(rec, id, 1)];
    try {
      await this.o.barrier.putJSON(PATHS.keyring(name), rec, { expectVersion: 0 });
    } catch (e) {
      if (e instanceof CasConflict) return this.ensureServiceKeyring(name, kmsKeyArn, owner, versionStep);
      throw e;
    }
    return this.toView(rec);
  }

  /** A token acting as the service principal `service`, scoped to `name` (a keyring the service owns). */
  async issueServiceToken(name: string, service: string, description: string): Promise<{ token: string; accessor: string }> {
    const { value } = await this.load(name);
    if (value.ownedBy !== service) throw new AccessDeniedException(`Keyring ${name} does not belong to ${service}.`);
    const token = 'rk.' + randomBytes(32).toString('base64url');
    const accessor = randomBytes(12).toString('hex');
    const hash = sha256(token).toString('hex');
    const rec: TokenRecord = { accessor, keyring: name, principalArn: service, service, description, createdAt: this.clock().getTime() };
    await this.o.barrier.transaction([Barrier.putOp(PATHS.token(hash), rec, 0), Barrier.putOp(PATHS.accessor(name, accessor), { hash }, 0)]);
    return { token, accessor };
  }

  /** A service's keyring and all its tokens gone (the resource was deleted). Idempotent. */
  async deleteServiceKeyring(name: string, service: string): Promise<void> {
    checkKeyringName(name);
    const got = await this.o.barrier.getJSON<KeyringRecord>(PATHS.keyring(name));
    if (got && got.value.ownedBy !== service) throw new AccessDeniedException(`Keyring ${name} does not belong to ${service}.`);
    const ops: { type: 'delete'; key: string }[] = [];
    for (const p of await this.o.barrier.list(PATHS.accessors(name))) {
      const idx = await this.o.barrier.getJSON<{ hash: string }>(p);
      if (idx) ops.push({ type: 'delete', key: PATHS.token(idx.value.hash) });
      ops.push({ type: 'delete', key: p });
    }
    if (got) ops.push({ type: 'delete', key: PATHS.keyring(name) });
    if (ops.length > 0) await this.o.barrier.transaction(ops);
  }

  /** Key id -> its newest version, after bringing the keyring up to the KMS key's current material. */
  async latestVersions(name: string): Promise<Map<number, number>> {
    await this.sync(name);
    const { value } = await this.load(name);
    return new Map(Object.entries(value.keys).map(([id, vs]) => [Number(id), vs.at(-1)!.version]));
  }

  /** Key id -> its served versions (number, creation time) and retired version numbers, oldest first. */
  async versionsOf(name: string): Promise<Map<number, { served: { version: number; createdAt: number }[]; retired: number[] }>> {
    const { value } = await this.load(name);
    return new Map(Object.entries(value.keys).map(([id, vs]) => [Number(id), {
      served: vs.map((v) => ({ version: v.version, createdAt: v.createdAt })),
      retired: (value.retired?.[id] ?? []).map((r) => r.version),
    }]));
  }

  /**
   * Retires, for each key id in `floors`, every version below its floor (never the newest): the
   * versions' data keys are deleted from the keyring record, so the Vault endpoint answers them as
   * absent. The audit event (KeyVersionsRetired) is recorded before the commit; a compare-and-swap
   * conflict retries on the fresh record. Idempotent. Only `owner`'s keyrings. Returns `id:version`s retired.
   */
  async retireBelow(name: string, floors: ReadonlyMap<number, number>, owner: string, reasons: string): Promise<string[]> {
    for (let attempt = 0; ; attempt++) {
      const { value: rec, version } = await this.load(name);
      if (rec.ownedBy !== owner) throw new AccessDeniedException(`Keyring ${name} does not belong to ${owner}.`);
      const retired: string[] = [];
      const now = this.clock().getTime();
      for (const [id, floor] of floors) {
        const versions = rec.keys[String(id)];
        if (!versions) continue;
        const newest = versions.at(-1)!.version;
        const gone = versions.filter((v) => v.version < Math.min(floor, newest));
        if (gone.length === 0) continue;
        rec.keys[String(id)] = versions.filter((v) => !gone.includes(v));
        rec.retired = { ...rec.retired, [String(id)]: [...(rec.retired?.[String(id)] ?? []), ...gone.map((v) => ({ version: v.version, retiredAt: now }))] };
        retired.push(...gone.map((v) => `${id}:${v.version}`));
      }
      if (retired.length === 0) return [];
      // the audit event first (a mutation is recorded before its commit); a failure retires nothing
      await this.o.audit?.append(serviceEvent({
        service: 'keyserve', eventName: 'KeyVersionsRetired', region: this.o.region, accountId: this.o.accountId,
        resources: [rec.arn], now: this.clock(), details: { keyring: name, kmsKeyArn: rec.kmsKeyArn, versions: retired.join(','), evidence: reasons },
      }));
      try {
        await this.o.barrier.putJSON(PATHS.keyring(name), rec, { expectVersion: version });
      } catch (e) {
        if (e instanceof CasConflict && attempt < 5) continue;
        throw e;
      }
      return retired;
    }
  }

  async listTokens(name: string): Promise<{ accessor: string; principalArn: string; description?: string; createdAt: string; revokedAt?: string }[]> {
    await this.load(name);
    const out = [];
    for (const p of await this.o.barrier.list(PATHS.accessors(name))) {
      const idx = await this.o.barrier.getJSON<{ hash: string }>(p);
      const t = idx ? await this.o.barrier.getJSON<TokenRecord>(PATHS.token(idx.value.hash)) : null;
      if (!t) continue;
      const v = t.value;
      out.push({
        accessor: v.accessor, principalArn: v.principalArn, ...(v.description ? { description: v.description } : {}),
        createdAt: new Date(v.createdAt).toISOString(), ...(v.revokedAt ? { revokedAt: new Date(v.revokedAt).toISOString() } : {}),
      });
    }
    return out;
  }

  // ---- the read path (the Vault KV adapter)

  /**
   * Who a token acts as, for `keyring`: the token must exist, be unrevoked and be scoped to the
   * keyring; its principal must still exist and be allowed READ_ACTION on the keyring now. Every
   * refusal is the same AccessDeniedException ("permission denied"): nothing tells a bad token from
   * a revoked one. Returns the identity (for the audit event) and the token's accessor.
   */
  async authenticate(token: string, keyring: string, info: { sourceIp?: string; secureTransport?: boolean }): Promise<{ identity: Identity; accessor: string }> {
    const denied = () => new AccessDeniedException('permission denied');
    if (!/^rk\.[A-Za-z0-9_-]{43}$/.test(token) || !KEYRING_NAME.test(keyring)) throw denied();
    const t = await this.o.barrier.getJSON<TokenRecord>(PATHS.token(sha256(token).toString('hex')));
    if (!t || t.value.revokedAt || t.value.keyring !== keyring) throw denied();
    const identity = await this.identityOf(t.value);
    if (!identity) throw denied();
    if (t.value.service) return { identity, accessor: t.value.accessor }; // scoped to its keyring; no IAM policies to check
    try {
      this.o.iam.authorizeAdmin(identity, READ_ACTION, this.arnOf(keyring), info);
    } catch {
      throw denied();
    }
    return { identity, accessor: t.value.accessor };
  }

  private async identityOf(t: TokenRecord): Promise<Identity | null> {
    const base = { accountId: this.o.accountId, accessKeyId: `keyserve:${t.accessor}` };
    if (t.service) return { ...base, type: 'AssumedRole', arn: t.service, principalId: `AWSService:${t.service}`, identityPolicies: [] } as Identity;
    if (!t.userName) {
      return t.principalArn.endsWith(':root') ? { ...base, type: 'Root', arn: t.principalArn, principalId: this.o.accountId, identityPolicies: [] } : null;
    }
    const user = await this.o.iam.principals.findUser(t.userName);
    if (!user || user.arn !== t.principalArn) return null;
    return { ...base, type: 'IAMUser', arn: user.arn, principalId: user.userId, userName: user.name, identityPolicies: compiledPolicies(user.policies) };
  }

  /**
   * Key `keyId` of `keyring` at `version` (latest when absent), decrypted through KMS. Throws
   * NotFoundException (no such key or version), DisabledException / KMSInvalidStateException (the
   * KMS key cannot be used).
   */
  async read(keyring: string, keyId: number, version?: number): Promise<ReadKey> {
    let { value: rec } = await this.load(keyring);
    let versions = rec.keys[String(keyId)];
    if (!versions) throw new NotFoundException(`No key ${keyId} in keyring ${keyring}.`);
    if (version === undefined && versions.at(-1)!.materialId !== (await this.o.kms.currentMaterialId(rec.kmsKeyId))) {
      // the KMS key rotated and no sync has run yet: the latest version is made now
      if ((await this.sync(keyring)) > 0) {
        rec = (await this.load(keyring)).value;
        versions = rec.keys[String(keyId)]!;
      }
    }
    const v = version === undefined ? versions.at(-1)! : versions.find((x) => x.version === version);
    if (!v) throw new NotFoundException(`No version ${version} of key ${keyId} in keyring ${keyring}.`);
    const { plaintext } = await this.o.kms.decryptInternal(Buffer.from(v.blob, 'base64'), encryptionContext(keyring, keyId, v.version));
    try {
      return { hex: plaintext.toString('hex').toUpperCase(), version: v.version, createdAt: v.createdAt };
    } finally {
      zeroize(plaintext);
    }
  }
}

export { READ_ACTION } from './model.ts';
