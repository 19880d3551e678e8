// TEST DOUBLE, for the RDS protocol tests only: an in-memory DbService (src/db/api.ts) with no
// database processes, volumes or KMS. State transitions (creating -> available, stopping ->
// stopped, ...) happen when the test calls settle(), or at once with { instant: true }. The real
// implementation lives in src/db; never wire this double into a server outside tests.
import {
  DBInstanceAlreadyExistsFault, DBInstanceNotFoundFault, DBSnapshotAlreadyExistsFault, DBSnapshotNotFoundFault, InvalidDBInstanceStateFault,
  InvalidDBSnapshotStateFault, InvalidParameterCombination, KMSKeyNotAccessibleFault,
} from '../errors.ts';
import type {
  CopyDbSnapshotInput, CreateDbInstanceInput, CreateReadReplicaInput, CreateDbSnapshotInput, DbCallContext, DbEngineVersion, DbInstance, DbInstanceStatus, DbService, DbSnapshot,
  DeleteDbInstanceInput, ModifyDbInstanceInput, RestoreDbInstanceInput, Tag,
} from '../db/api.ts';

const SETTLED: Partial<Record<DbInstanceStatus, DbInstanceStatus | 'gone'>> = {
  creating: 'available', stopping: 'stopped', starting: 'available', rebooting: 'available', modifying: 'available', deleting: 'gone',
};

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface FakeDbOptions {
  region?: string;
  accountId?: string;
  /** Transitions complete inside the call (no settle() needed). */
  instant?: boolean;
  versions?: DbEngineVersion[];
  /** KmsKeyId values the double accepts; any other is KMSKeyNotAccessibleFault (absent: every key). */
  usableKeys?: readonly string[];
}

export class InMemoryDbServiceForTests implements DbService {
  private readonly instances = new Map<string, DbInstance>();
  private readonly snapshots = new Map<string, DbSnapshot>();
  /** Every context passed to a mutating call, so tests can see the audit gate was offered. */
  readonly calls: { method: string; ctx: DbCallContext }[] = [];
  private readonly region: string;
  private readonly accountId: string;
  private readonly instant: boolean;
  private readonly versions: DbEngineVersion[];
  private readonly usableKeys: readonly string[] | undefined;
  private seq = 0;

  constructor(o: FakeDbOptions = {}) {
    this.region = o.region ?? 'us-east-1';
    this.accountId = o.accountId ?? '000000000000';
    this.instant = o.instant ?? false;
    this.usableKeys = o.usableKeys;
    this.versions = o.versions ?? [
      { engine: 'postgres', engineVersion: '16.4', dbParameterGroupFamily: 'postgres16', description: 'PostgreSQL 16.4', binDir: '/nonexistent' },
      { engine: 'postgres', engineVersion: '17.2', dbParameterGroupFamily: 'postgres17', description: 'PostgreSQL 17.2', binDir: '/nonexistent' },
    ];
  }

  /** Completes every pending transition (what the real component's jobs do over time). */
  settle(): void {
    for (const [id, sn] of this.snapshots) {
      if (sn.status === 'deleting') this.snapshots.delete(id);
      else if (sn.status === 'creating' || sn.status === 'copying') Object.assign(sn, { status: 'available', percentProgress: 100 });
    }
    for (const [id, i] of this.instances) {
      const next = SETTLED[i.status];
      if (next === 'gone') this.instances.delete(id);
      else if (next) {
        i.status = next;
        if (next === 'available' && !i.endpoint) i.endpoint = { address: '127.0.0.1', port: 15432 + this.seq };
        if (next === 'available') i.pendingModifiedValues = {};
      }
    }
  }

  private async gate(method: string, ctx: DbCallContext, partial?: unknown): Promise<void> {
    this.calls.push({ method, ctx });
    await ctx.beforeCommit?.(partial);
  }

  private find(id: string): DbInstance {
    const i = this.instances.get(id.toLowerCase());
    if (!i) throw new DBInstanceNotFoundFault(`DBInstance ${id} not found.`);
    return i;
  }

  private byArn(arn: string): DbInstance {
    const id = arn.slice(arn.lastIndexOf(':') + 1);
    const i = this.instances.get(id);
    if (!i || i.arn !== arn) throw new DBInstanceNotFoundFault(`DBInstance ${arn} not found.`);
    return i;
  }

  private copy(i: DbInstance): DbInstance {
    return structuredClone(i);
  }

  private move(i: DbInstance, status: DbInstanceStatus): DbInstance {
    i.status = status;
    if (this.instant) this.settle();
    return this.copy(this.instances.get(i.id) ?? i);
  }

  async create(input: CreateDbInstanceInput, ctx: DbCallContext): Promise<DbInstance> {
    if (this.instances.has(input.id)) throw new DBInstanceAlreadyExistsFault('DB instance already exists');
    if (input.kmsKeyId !== undefined && this.usableKeys && !this.usableKeys.includes(input.kmsKeyId)) {
      throw new KMSKeyNotAccessibleFault(`The specified KMS key [${input.kmsKeyId}] does not exist, is not enabled or you do not have permissions to access it.`);
    }
    const version = input.engineVersion ?? this.versions.filter((v) => v.engine === input.engine).at(-1)?.engineVersion ?? '0';
    this.seq += 1;
    let rid = 'db-';
    for (let n = this.seq * 7919, k = 0; k < 26; k++, n = Math.floor(n / 3) + k * 131) rid += B32[n % 32];
    const i: DbInstance = {
      id: input.id, resourceId: rid, arn: `arn:aws:rds:${this.region}:${this.accountId}:db:${input.id}`, engine: input.engine, engineVersion: version,
      instanceClass: input.instanceClass, allocatedStorageGiB: input.allocatedStorageGiB, status: 'creating', masterUsername: input.masterUsername,
      storageEncrypted: input.storageEncrypted, deletionProtection: input.deletionProtection, createdAt: new Date(), tags: [...input.tags], pendingModifiedValues: {},
      ...(input.dbName !== undefined ? { dbName: input.dbName } : {}),
      ...(input.storageEncrypted ? { kmsKeyId: `arn:aws:kms:${this.region}:${this.accountId}:key/${input.kmsKeyId ?? 'aws-rds-default'}` } : {}),
      ...(input.manageMasterUserPassword ? {
        masterUserSecret: {
          secretArn: `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:rds!${rid.toLowerCase()}-AbCdEf`, secretStatus: 'active',
          kmsKeyId: input.masterUserSecretKmsKeyId ?? `arn:aws:kms:${this.region}:${this.accountId}:key/aws-secretsmanager-default`,
        },
      } : {}),
    };
    await this.gate('create', ctx, i);
    this.instances.set(i.id, i);
    return this.move(i, 'creating');
  }

  async get(id: string): Promise<DbInstance> {
    return this.copy(this.find(id));
  }

  async list(opts: { after?: string; limit: number }): Promise<{ instances: DbInstance[]; next?: string }> {
    const ids = [...this.instances.keys()].sort().filter((id) => opts.after === undefined || id > opts.after);
    const page = ids.slice(0, opts.limit);
    const more = ids.length > opts.limit;
    return { instances: page.map((id) => this.copy(this.instances.get(id)!)), ...(more ? { next: page[page.length - 1]! } : {}) };
  }

  async modify(input: ModifyDbInstanceInput, ctx: DbCallContext): Promise<DbInstance> {
    const i = this.find(input.id);
    if (i.status !== 'available') throw new InvalidDBInstanceStateFault(`Database instance is not in available state.`);
    if (input.rotateMasterUserPassword && !i.masterUserSecret && !input.manageMasterUserPassword) {
      throw new InvalidParameterCombination('You can\'t rotate the master user password: the instance does not manage it in Secrets Manager.');
    }
    await this.gate('modify', ctx);
    if (input.deletionProtection !== undefined) i.deletionProtection = input.deletionProtection;
    if (input.masterUserPassword !== undefined) {
      if (input.applyImmediately) i.status = 'modifying';
      i.pendingModifiedValues = { masterUserPassword: true };
    }
    if (input.manageMasterUserPassword === false) delete i.masterUserSecret;
    if (input.manageMasterUserPassword === true && !i.masterUserSecret) {
      i.masterUserSecret = { secretArn: `arn:aws:secretsmanager:${this.region}:${this.accountId}:secret:rds!${i.resourceId.toLowerCase()}-AbCdEf`, secretStatus: 'creating', kmsKeyId: input.masterUserSecretKmsKeyId ?? 'aws/secretsmanager' };
    }
    return this.move(i, i.status);
  }

  async stop(id: string, ctx: DbCallContext): Promise<DbInstance> {
    const i = this.find(id);
    if (i.status !== 'available') throw new InvalidDBInstanceStateFault(`Instance ${i.id} is not in available state.`);
    await this.gate('stop', ctx);
    return this.move(i, 'stopping');
  }

  async start(id: string, ctx: DbCallContext): Promise<DbInstance> {
    const i = this.find(id);
    if (i.status !== 'stopped' && i.status !== 'inaccessible-encryption-credentials') throw new InvalidDBInstanceStateFault(`Instance ${i.id} is not stopped, it cannot be started.`);
    await this.gate('start', ctx);
    return this.move(i, 'starting');
  }

  async reboot(id: string, ctx: DbCallContext): Promise<DbInstance> {
    const i = this.find(id);
    if (i.status !== 'available') throw new InvalidDBInstanceStateFault(`Instance ${i.id} is not in available state.`);
    await this.gate('reboot', ctx);
    return this.move(i, 'rebooting');
  }

  async delete(input: DeleteDbInstanceInput, ctx: DbCallContext): Promise<DbInstance> {
    const i = this.find(input.id);
    if (i.deletionProtection) throw new InvalidParameterCombination('Cannot delete protected DB Instance, please disable deletion protection and try again.');
    if (!input.skipFinalSnapshot && input.finalDbSnapshotIdentifier !== undefined) {
      if (this.snapshots.has(input.finalDbSnapshotIdentifier)) throw new DBSnapshotAlreadyExistsFault(`Cannot create the snapshot because a snapshot with the identifier ${input.finalDbSnapshotIdentifier} already exists.`);
      await this.gate('delete', ctx);
      this.snapshots.set(input.finalDbSnapshotIdentifier, this.snapshotOf(i, input.finalDbSnapshotIdentifier, []));
      return this.move(i, 'deleting');
    }
    await this.gate('delete', ctx);
    return this.move(i, 'deleting');
  }

  // ---- snapshots
  private snapshotOf(i: DbInstance, id: string, tags: Tag[]): DbSnapshot {
    return {
      id, arn: `arn:aws:rds:${this.region}:${this.accountId}:snapshot:${id}`, instanceId: i.id, resourceId: i.resourceId, snapshotType: 'manual',
      status: this.instant ? 'available' : 'creating', engine: i.engine, engineVersion: i.engineVersion, allocatedStorageGiB: i.allocatedStorageGiB,
      masterUsername: i.masterUsername, ...(i.dbName !== undefined ? { dbName: i.dbName } : {}), port: i.endpoint?.port ?? 5432,
      instanceCreatedAt: i.createdAt, createdAt: new Date(), encrypted: i.storageEncrypted, ...(i.kmsKeyId ? { kmsKeyId: i.kmsKeyId } : {}),
      percentProgress: this.instant ? 100 : 0, tags: tags.map((t) => ({ ...t })),
    };
  }

  private snap(id: string): DbSnapshot {
    const name = (id.startsWith('arn:') ? id.slice(id.lastIndexOf(':') + 1) : id).toLowerCase();
    const s = this.snapshots.get(name);
    if (!s) throw new DBSnapshotNotFoundFault(`DBSnapshot ${id} not found.`);
    return s;
  }

  private newSnapshotId(id: string): void {
    if (this.snapshots.has(id)) throw new DBSnapshotAlreadyExistsFault(`Cannot create the snapshot because a snapshot with the identifier ${id} already exists.`);
  }

  async createSnapshot(input: CreateDbSnapshotInput, ctx: DbCallContext): Promise<DbSnapshot> {
    const i = this.find(input.instanceId);
    if (i.status !== 'available') throw new InvalidDBInstanceStateFault(`Cannot create a snapshot because the database instance ${i.id} is not currently in the available state.`);
    this.newSnapshotId(input.id);
    await this.gate('createSnapshot', ctx);
    const s = this.snapshotOf(i, input.id, input.tags);
    this.snapshots.set(s.id, s);
    return structuredClone(s);
  }

  async describeSnapshots(o: { id?: string; instanceId?: string; after?: string; limit: number }): Promise<{ snapshots: DbSnapshot[]; next?: string }> {
    if (o.id !== undefined) return { snapshots: [structuredClone(this.snap(o.id))].filter((s) => o.instanceId === undefined || s.instanceId === o.instanceId) };
    const all = [...this.snapshots.values()].filter((s) => (o.after === undefined || s.id > o.after) && (o.instanceId === undefined || s.instanceId === o.instanceId)).sort((a, b) => (a.id < b.id ? -1 : 1));
    const page = all.slice(0, o.limit);
    return { snapshots: page.map((s) => structuredClone(s)), ...(all.length > o.limit ? { next: page[page.length - 1]!.id } : {}) };
  }

  async deleteSnapshot(id: string, ctx: DbCallContext): Promise<DbSnapshot> {
    const s = this.snap(id);
    if (s.status !== 'available' && s.status !== 'failed') throw new InvalidDBSnapshotStateFault(`Cannot delete the snapshot ${s.id} while it is ${s.status}.`);
    await this.gate('deleteSnapshot', ctx);
    s.status = this.instant ? 'available' : 'deleting';
    const out = structuredClone({ ...s, status: 'deleting' as const });
    if (this.instant) this.snapshots.delete(s.id);
    return out;
  }

  async copySnapshot(input: CopyDbSnapshotInput, ctx: DbCallContext): Promise<DbSnapshot> {
    const src = this.snap(input.sourceId);
    if (src.status !== 'available') throw new InvalidDBSnapshotStateFault(`Snapshot ${src.id} is not in available state.`);
    this.newSnapshotId(input.targetId);
    if (input.kmsKeyId !== undefined && this.usableKeys && !this.usableKeys.includes(input.kmsKeyId)) {
      throw new KMSKeyNotAccessibleFault(`The specified KMS key [${input.kmsKeyId}] does not exist, is not enabled or you do not have permissions to access it.`);
    }
    await this.gate('copySnapshot', ctx);
    const keyArn = input.kmsKeyId === undefined ? src.kmsKeyId : input.kmsKeyId.startsWith('arn:') ? input.kmsKeyId : `arn:aws:kms:${this.region}:${this.accountId}:key/${input.kmsKeyId}`;
    const { kmsKeyId: _k, ...base } = src;
    const s: DbSnapshot = {
      ...base, id: input.targetId, arn: `arn:aws:rds:${this.region}:${this.accountId}:snapshot:${input.targetId}`, status: this.instant ? 'available' : 'copying',
      percentProgress: this.instant ? 100 : 0, encrypted: keyArn !== undefined, ...(keyArn ? { kmsKeyId: keyArn } : {}), sourceSnapshotArn: src.arn,
      createdAt: new Date(), tags: [...(input.copyTags ? src.tags : []), ...input.tags].map((t) => ({ ...t })),
    };
    this.snapshots.set(s.id, s);
    return structuredClone(s);
  }

  async restoreFromSnapshot(input: RestoreDbInstanceInput, ctx: DbCallContext): Promise<DbInstance> {
    const s = this.snap(input.snapshotId);
    if (s.status !== 'available') throw new InvalidDBSnapshotStateFault(`Snapshot ${s.id} is not in available state.`);
    if (this.instances.has(input.id)) throw new DBInstanceAlreadyExistsFault('DB instance already exists');
    await this.gate('restoreFromSnapshot', ctx);
    this.seq++;
    const i: DbInstance = {
      id: input.id, resourceId: `db-${B32.repeat(2).slice(this.seq % 6, (this.seq % 6) + 26)}`, arn: `arn:aws:rds:${this.region}:${this.accountId}:db:${input.id}`,
      engine: s.engine, engineVersion: s.engineVersion, instanceClass: input.instanceClass ?? 'db.t3.micro', allocatedStorageGiB: s.allocatedStorageGiB,
      status: this.instant ? 'available' : 'creating', masterUsername: s.masterUsername, ...(s.dbName !== undefined ? { dbName: s.dbName } : {}),
      storageEncrypted: s.encrypted, ...(s.kmsKeyId ? { kmsKeyId: s.kmsKeyId } : {}), deletionProtection: input.deletionProtection,
      createdAt: new Date(), tags: input.tags.map((t) => ({ ...t })), pendingModifiedValues: {},
      ...(this.instant ? { endpoint: { address: '127.0.0.1', port: input.port ?? 15432 + this.seq } } : {}),
    };
    this.instances.set(i.id, i);
    return structuredClone(i);
  }

  // ---- read replicas (the real rules: src/db/read-replicas.ts)
  async createReadReplica(input: CreateReadReplicaInput, ctx: DbCallContext): Promise<DbInstance> {
    const src = this.find(input.sourceId);
    if (src.readReplicaSourceId !== undefined) throw new InvalidParameterCombination(`DB instance ${src.id} is itself a read replica; rekey does not make cascading read replicas.`);
    if (src.status !== 'available') throw new InvalidDBInstanceStateFault(`DB instance ${src.id} is not in available state.`);
    if (this.instances.has(input.id)) throw new DBInstanceAlreadyExistsFault('DB instance already exists');
    if (input.kmsKeyId !== undefined && this.usableKeys && !this.usableKeys.includes(input.kmsKeyId)) {
      throw new KMSKeyNotAccessibleFault(`The specified KMS key [${input.kmsKeyId}] does not exist, is not enabled or you do not have permissions to access it.`);
    }
    this.seq += 1;
    const keyArn = input.kmsKeyId === undefined ? src.kmsKeyId : input.kmsKeyId.startsWith('arn:') ? input.kmsKeyId : `arn:aws:kms:${this.region}:${this.accountId}:key/${input.kmsKeyId}`;
    const { kmsKeyId: _k, masterUserSecret: _s, endpoint: _e, readReplicaIds: _r, ...base } = src;
    const i: DbInstance = {
      ...structuredClone(base), id: input.id, resourceId: `db-${B32.repeat(2).slice(this.seq % 6, (this.seq % 6) + 26)}`, arn: `arn:aws:rds:${this.region}:${this.accountId}:db:${input.id}`,
      instanceClass: input.instanceClass ?? src.instanceClass, status: 'creating', storageEncrypted: keyArn !== undefined, ...(keyArn ? { kmsKeyId: keyArn } : {}),
      deletionProtection: input.deletionProtection, createdAt: new Date(), tags: input.tags.map((t) => ({ ...t })), pendingModifiedValues: {},
      readReplicaSourceId: src.id, replication: { status: 'replicating', normal: true }, replicaLagSeconds: 0,
    };
    await this.gate('createReadReplica', ctx, i);
    this.instances.set(i.id, i);
    src.readReplicaIds = [...(src.readReplicaIds ?? []), i.id].sort();
    return this.move(i, 'creating');
  }

  async promoteReadReplica(id: string, ctx: DbCallContext): Promise<DbInstance> {
    const i = this.find(id);
    if (i.readReplicaSourceId === undefined) throw new InvalidDBInstanceStateFault(`DB Instance ${i.id} is not a read replica.`);
    if (i.status !== 'available') throw new InvalidDBInstanceStateFault(`DB instance ${i.id} is not in available state.`);
    await this.gate('promoteReadReplica', ctx);
    const src = this.instances.get(i.readReplicaSourceId);
    if (src) {
      src.readReplicaIds = (src.readReplicaIds ?? []).filter((x) => x !== i.id);
      if (src.readReplicaIds.length === 0) delete src.readReplicaIds;
    }
    const out = this.move(i, 'modifying');
    const now = this.instances.get(i.id);
    if (now && now.status !== 'modifying') {
      delete now.readReplicaSourceId;
      delete now.replication;
      delete now.replicaLagSeconds;
      delete out.readReplicaSourceId;
      delete out.replication;
      delete out.replicaLagSeconds;
    }
    return out;
  }

  async engineVersions(filter?: { engine?: string; engineVersion?: string }): Promise<DbEngineVersion[]> {
    return this.versions.filter((v) => (filter?.engine === undefined || v.engine === filter.engine) && (filter?.engineVersion === undefined || v.engineVersion === filter.engineVersion));
  }

  async addTags(arn: string, tags: Tag[], ctx: DbCallContext): Promise<void> {
    const i = this.byArn(arn);
    await this.gate('addTags', ctx);
    for (const t of tags) {
      const old = i.tags.find((x) => x.key === t.key);
      if (old) old.value = t.value;
      else i.tags.push({ ...t });
    }
  }

  async listTags(arn: string): Promise<Tag[]> {
    return this.byArn(arn).tags.map((t) => ({ ...t }));
  }

  async removeTags(arn: string, keys: string[], ctx: DbCallContext): Promise<void> {
    const i = this.byArn(arn);
    await this.gate('removeTags', ctx);
    i.tags = i.tags.filter((t) => !keys.includes(t.key));
  }
}

/** An RdsEnv over a test double (account 111122223333, us-east-1). */
export function testEnv(db: DbService): { db: DbService; partition: string; region: string; accountId: string } {
  return { db, partition: 'aws', region: 'us-east-1', accountId: '111122223333' };
}

/** A DbCallContext whose audit gate records each call (and can be made to refuse). */
export function testContext(gate: { calls: unknown[]; refuse?: boolean; onGate?: () => Promise<void> | void } = { calls: [] }): DbCallContext {
  return {
    caller: { accountId: '111122223333', arn: 'arn:aws:iam::111122223333:root', accessKeyId: 'AKIATEST', type: 'Root', principalId: '111122223333', identityPolicies: [] },
    requestId: 'test-request', sourceIp: '127.0.0.1', secureTransport: false, userAgent: 'test',
    beforeCommit: async (partial) => {
      await gate.onGate?.();
      if (gate.refuse) throw new Error('audit refused');
      gate.calls.push(partial);
    },
  };
}
