// DbService (src/db/api.ts) for PostgreSQL and MariaDB instances (the name is older than MariaDB's;
// what differs per engine is in the ServerEngine, src/db/server-engine.ts): reads, and the state
// changes that start jobs (src/db/jobs.ts). Creation is in create.ts.
import { randomBytes, randomUUID } from '../crypto/index.ts';
import {
  DBInstanceNotFoundFault, InvalidDBInstanceStateFault, InvalidParameterCombination,
} from '../errors.ts';
import type {
  CreateDbInstanceInput, DbCallContext, DbEngineVersion, DbInstance, DbInstanceStatus, DbService, DeleteDbInstanceInput,
  ModifyDbInstanceInput, Tag,
} from './api.ts';
import { createInstance } from './create.ts';
import type { DbCore } from './core.ts';
import { INSTANCES_PREFIX, instancePath, toApi, type InstanceRecord } from './model.ts';
import { SnapshotOps } from './snapshots/ops.ts';
import type { CopyDbSnapshotInput, CreateDbSnapshotInput, DbSnapshot, RestoreDbInstanceInput } from './api.ts';
import type { CreateReadReplicaInput } from './api.ts';
import { ReplicaOps } from './read-replicas.ts';
import { notForMariadb } from './server-engine.ts';

const notFound = (id: string) => new DBInstanceNotFoundFault(`DBInstance ${id} not found.`);
const ARN = /^arn:[\w-]+:rds:[^:]+:\d{12}:db:([a-z][a-z0-9-]{0,62})$/;

export class PostgresDbService implements DbService {
  private readonly snapshots: SnapshotOps;
  private readonly replicas: ReplicaOps;

  constructor(private readonly core: DbCore, snapshots?: SnapshotOps, replicas?: ReplicaOps) {
    this.snapshots = snapshots ?? new SnapshotOps(core);
    this.replicas = replicas ?? new ReplicaOps(core);
  }

  // ---- read replicas (src/db/read-replicas.ts)
  async createReadReplica(input: CreateReadReplicaInput, ctx: DbCallContext): Promise<DbInstance> {
    const source = await this.core.barrier.getJSON<InstanceRecord>(instancePath(input.sourceId.toLowerCase()));
    if (source?.value.engine === 'mariadb') throw notForMariadb('CreateDBInstanceReadReplica');
    return this.replicas.create(input, ctx);
  }
  promoteReadReplica(id: string, ctx: DbCallContext): Promise<DbInstance> { return this.replicas.promote(id, ctx); }

  // ---- snapshots (src/db/snapshots/ops.ts)
  async createSnapshot(input: CreateDbSnapshotInput, ctx: DbCallContext): Promise<DbSnapshot> {
    const source = await this.core.barrier.getJSON<InstanceRecord>(instancePath(input.instanceId.toLowerCase()));
    if (source?.value.engine === 'mariadb') throw notForMariadb('CreateDBSnapshot');
    return this.snapshots.create(input, ctx);
  }
  describeSnapshots(opts: { id?: string; instanceId?: string; after?: string; limit: number }): Promise<{ snapshots: DbSnapshot[]; next?: string }> { return this.snapshots.describe(opts); }
  deleteSnapshot(id: string, ctx: DbCallContext): Promise<DbSnapshot> { return this.snapshots.delete(id, ctx); }
  copySnapshot(input: CopyDbSnapshotInput, ctx: DbCallContext): Promise<DbSnapshot> { return this.snapshots.copy(input, ctx); }
  restoreFromSnapshot(input: RestoreDbInstanceInput, ctx: DbCallContext): Promise<DbInstance> { return this.snapshots.restore(input, ctx); }

  create(input: CreateDbInstanceInput, ctx: DbCallContext): Promise<DbInstance> {
    return createInstance(this.core, input, ctx);
  }

  private async record(id: string): Promise<InstanceRecord> {
    const got = await this.core.barrier.getJSON<InstanceRecord>(instancePath(id.toLowerCase()));
    if (!got) throw notFound(id);
    return got.value;
  }

  async get(id: string): Promise<DbInstance> {
    const rec = await this.record(id);
    return this.withKeyRotation(rec, await this.replicas.view(rec));
  }

  /** An encrypted, running mariadb instance: how far InnoDB is in moving to the newest key version. */
  private async withKeyRotation(rec: InstanceRecord, view: DbInstance): Promise<DbInstance> {
    if (rec.engine !== 'mariadb' || !rec.storageEncrypted || !rec.mariadbKeys || !this.core.mariadbKeys || !this.core.runtime.serverPort(rec)) return view;
    try {
      return { ...view, keyRotation: await this.core.mariadbKeys.progress(rec, this.core.runtime.paths(rec)) };
    } catch (e) {
      this.core.log(`db: key rotation progress of ${rec.id}: ${e instanceof Error ? e.name : 'error'}`);
      return view;
    }
  }

  async list(opts: { after?: string; limit: number }): Promise<{ instances: DbInstance[]; next?: string }> {
    const keys = await this.core.barrier.list(INSTANCES_PREFIX, { ...(opts.after !== undefined ? { after: INSTANCES_PREFIX + opts.after } : {}), limit: opts.limit + 1 });
    const page = keys.slice(0, opts.limit);
    const recs = await Promise.all(page.map((k) => this.core.barrier.getJSON<InstanceRecord>(k)));
    const found = recs.flatMap((r) => (r ? [r.value] : []));
    const views = await this.replicas.views(found);
    const instances = await Promise.all(views.map((v, i) => this.withKeyRotation(found[i]!, v)));
    const last = instances[instances.length - 1];
    return { instances, ...(keys.length > opts.limit && last ? { next: last.id } : {}) };
  }

  /** Moves the instance into a transitional status and starts the job that completes it. */
  private async transition(id: string, allowed: readonly DbInstanceStatus[], status: DbInstanceStatus, kind: string, desired: InstanceRecord['desired'], ctx: DbCallContext, wrongState: (rec: InstanceRecord) => string): Promise<DbInstance> {
    const rec = await this.record(id);
    if (!allowed.includes(rec.status) || rec.op) throw new InvalidDBInstanceStateFault(wrongState(rec));
    await ctx.beforeCommit?.();
    const next = await this.core.update(rec.id, (r) => {
      if (!allowed.includes(r.status) || r.op) throw new InvalidDBInstanceStateFault(wrongState(r));
      return { ...r, status, desired, op: { kind, id: randomUUID() } };
    });
    await this.core.enqueue(next);
    return toApi(next);
  }

  async stop(id: string, ctx: DbCallContext): Promise<DbInstance> {
    await this.replicas.guard('stop', await this.record(id));
    return this.transition(id, ['available', 'inaccessible-encryption-credentials-recoverable'], 'stopping', 'db.stop', 'stopped', ctx, (r) => `Instance ${r.id} is not in available state.`);
  }

  start(id: string, ctx: DbCallContext): Promise<DbInstance> {
    return this.transition(id, ['stopped', 'inaccessible-encryption-credentials', 'failed'], 'starting', 'db.start', 'available', ctx,
      (r) => `Instance ${r.id} cannot be started as it is not in one of the following statuses: 'stopped, inaccessible-encryption-credentials-recoverable, incompatible-network (only valid for non-SqlServer instances)'.`);
  }

  reboot(id: string, ctx: DbCallContext): Promise<DbInstance> {
    return this.transition(id, ['available', 'inaccessible-encryption-credentials-recoverable'], 'rebooting', 'db.reboot', 'available', ctx, (r) => `DB instance ${r.id} is not in available state.`);
  }

  async delete(input: DeleteDbInstanceInput, ctx: DbCallContext): Promise<DbInstance> {
    const rec = await this.record(input.id);
    if (rec.deletionProtection) throw new InvalidParameterCombination('Cannot delete protected DB Instance, please disable deletion protection and try again.');
    if (!input.skipFinalSnapshot && input.finalDbSnapshotIdentifier === undefined) {
      throw new InvalidParameterCombination('FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
    }
    if (!input.skipFinalSnapshot && rec.engine === 'mariadb') throw notForMariadb('A final snapshot (DeleteDBInstance without SkipFinalSnapshot)');
    if (!input.skipFinalSnapshot && input.finalDbSnapshotIdentifier !== undefined) return this.snapshots.deleteWithFinalSnapshot(input.id, input.finalDbSnapshotIdentifier, ctx); // [snapshots]
    return this.transition(input.id, ['available', 'stopped', 'failed', 'inaccessible-encryption-credentials', 'inaccessible-encryption-credentials-recoverable'], 'deleting', 'db.delete', 'deleted', ctx,
      (r) => `Instance ${r.id} is already being deleted or is in a state that does not allow deletion (${r.status}).`);
  }

  async modify(input: ModifyDbInstanceInput, ctx: DbCallContext): Promise<DbInstance> {
    const rec = await this.record(input.id);
    if (input.masterUserPassword !== undefined && input.manageMasterUserPassword === true) {
      throw new InvalidParameterCombination('You can\'t specify both MasterUserPassword and ManageMasterUserPassword.');
    }
    if (input.masterUserPassword !== undefined && rec.masterUserSecret && input.manageMasterUserPassword !== false) {
      throw new InvalidParameterCombination('You can\'t specify MasterUserPassword for an instance with ManageMasterUserPassword enabled.');
    }
    if (input.rotateMasterUserPassword && (!rec.masterUserSecret || !input.applyImmediately)) {
      throw new InvalidParameterCombination('RotateMasterUserPassword requires ApplyImmediately and an instance with ManageMasterUserPassword enabled.');
    }
    if (input.manageMasterUserPassword === false && rec.masterUserSecret && input.masterUserPassword === undefined) {
      throw new InvalidParameterCombination('To turn off ManageMasterUserPassword, specify MasterUserPassword.');
    }
    const changesPassword = input.masterUserPassword !== undefined || (input.manageMasterUserPassword === true && !rec.masterUserSecret);
    if (changesPassword || input.rotateMasterUserPassword) await this.replicas.guard('modify-password', rec);
    if (changesPassword && rec.status !== 'available') throw new InvalidDBInstanceStateFault(`Instance ${rec.id} is not in available state.`);
    await ctx.beforeCommit?.();
    let next = rec;
    if (input.manageMasterUserPassword === true && !rec.masterUserSecret) {
      const password = randomBytes(24).toString('base64url');
      const secret = await this.core.createMasterSecret({ id: rec.id, engine: rec.engine, username: rec.masterUsername, password, port: rec.endpointPort, dbName: rec.dbName, kmsKeyId: input.masterUserSecretKmsKeyId }, ctx);
      await this.core.setMasterPassword(rec, password);
      next = await this.core.update(rec.id, (r) => ({ ...r, masterUserSecret: secret }));
    } else if (input.masterUserPassword !== undefined) {
      await this.core.setMasterPassword(rec, input.masterUserPassword);
      if (rec.masterUserSecret && input.manageMasterUserPassword === false) {
        await this.core.deleteMasterSecret(rec.masterUserSecret.arn);
        next = await this.core.update(rec.id, (r) => {
          const { masterUserSecret: _gone, ...rest } = r;
          return rest;
        });
      }
    }
    if (input.rotateMasterUserPassword && rec.masterUserSecret) {
      await this.core.secrets.call('RotateSecret', { SecretId: rec.masterUserSecret.arn, ClientRequestToken: randomUUID() }, ctx.caller, { requestId: ctx.requestId, sourceIp: ctx.sourceIp, secureTransport: ctx.secureTransport, userAgent: ctx.userAgent });
    }
    if (input.deletionProtection !== undefined) next = await this.core.update(rec.id, (r) => ({ ...r, deletionProtection: input.deletionProtection! }));
    return toApi(next);
  }

  async engineVersions(filter: { engine?: string; engineVersion?: string } = {}): Promise<DbEngineVersion[]> {
    return this.core.engines.filter((e) => (filter.engine === undefined || e.engine === filter.engine)
      && (filter.engineVersion === undefined || e.engineVersion === filter.engineVersion || e.engineVersion.split('.')[0] === filter.engineVersion)).map((e) => ({ ...e }));
  }

  private idOfArn(arn: string): string {
    const m = ARN.exec(arn);
    if (!m) throw new DBInstanceNotFoundFault(`DBInstance ${arn} not found.`);
    return m[1]!;
  }

  async addTags(arn: string, tags: Tag[], ctx: DbCallContext): Promise<void> {
    const rec = await this.record(this.idOfArn(arn));
    await ctx.beforeCommit?.();
    await this.core.update(rec.id, (r) => {
      const byKey = new Map(r.tags.map((t) => [t.key, t.value]));
      for (const t of tags) byKey.set(t.key, t.value);
      return { ...r, tags: [...byKey].map(([key, value]) => ({ key, value })) };
    });
  }

  async listTags(arn: string): Promise<Tag[]> {
    return (await this.record(this.idOfArn(arn))).tags.map((t) => ({ ...t }));
  }

  async removeTags(arn: string, keys: string[], ctx: DbCallContext): Promise<void> {
    const rec = await this.record(this.idOfArn(arn));
    await ctx.beforeCommit?.();
    await this.core.update(rec.id, (r) => ({ ...r, tags: r.tags.filter((t) => !keys.includes(t.key)) }));
  }
}
