// The snapshot operations of DbService (src/db/api.ts): checks that depend on state, one commit,
// then the durable job that does the long work (src/db/snapshots/jobs.ts).
import { randomUUID } from '../../crypto/index.ts';
import {
  DBInstanceAlreadyExistsFault, DBInstanceNotFoundFault, DBSnapshotAlreadyExistsFault, DBSnapshotNotFoundFault, InstanceQuotaExceededFault,
  InvalidDBInstanceStateFault, InvalidDBSnapshotStateFault, InvalidParameterCombination, InvalidParameterValue, RekeyError, SnapshotQuotaExceededFault,
} from '../../errors.ts';
import { StreamAuthenticationFailed } from '../../crypto/stream-aead.ts';
import { Barrier } from '../../storage/barrier.ts';
import type { CopyDbSnapshotInput, CreateDbSnapshotInput, DbCallContext, DbInstance, DbSnapshot, RestoreDbInstanceInput } from '../api.ts';
import type { DbCore } from '../core.ts';
import { isRdsDefaultAlias, keyNotAccessible, newResourceId } from '../create.ts';
import { pickVersion } from '../engines.ts';
import { instancePath, toApi, type InstanceRecord } from '../model.ts';
import { freePort } from '../runtime.ts';
import { rdsPrincipal } from '../volume-key.ts';
import {
  finalSnapshotPath, MAX_SNAPSHOTS, restoreSourcePath, SNAPSHOTS_PREFIX, snapshotPath, snapshotToApi, type SnapshotOpKind, type SnapshotRecord,
} from './model.ts';
import { verifySnapshotFile } from './run.ts';

const ARN = /^arn:[\w-]+:rds:[^:]+:\d{12}:snapshot:([a-z][a-z0-9-]{0,254})$/;
export const snapshotNotFound = (id: string) => new DBSnapshotNotFoundFault(`DBSnapshot ${id} not found.`);
const alreadyExists = (id: string) => new DBSnapshotAlreadyExistsFault(`Cannot create the snapshot because a snapshot with the identifier ${id} already exists.`);

export interface SnapshotJobData { id: string; snapshotResourceId: string; opId: string }

export class SnapshotOps {
  constructor(private readonly core: DbCore) {}

  private get dbDir(): string {
    return this.core.cfg.dir;
  }

  async record(idOrArn: string): Promise<SnapshotRecord> {
    const id = (ARN.exec(idOrArn)?.[1] ?? idOrArn).toLowerCase();
    const got = await this.core.barrier.getJSON<SnapshotRecord>(snapshotPath(id));
    if (!got) throw snapshotNotFound(idOrArn);
    return got.value;
  }

  private async all(): Promise<SnapshotRecord[]> {
    const keys = await this.core.barrier.list(SNAPSHOTS_PREFIX);
    const got = await Promise.all(keys.map((k) => this.core.barrier.getJSON<SnapshotRecord>(k)));
    return got.flatMap((g) => (g ? [g.value] : []));
  }

  private async instance(id: string): Promise<InstanceRecord> {
    const got = await this.core.barrier.getJSON<InstanceRecord>(instancePath(id.toLowerCase()));
    if (!got) throw new DBInstanceNotFoundFault(`DBInstance ${id} not found.`);
    return got.value;
  }

  private async checkNew(id: string): Promise<void> {
    if (await this.core.barrier.getJSON(snapshotPath(id))) throw alreadyExists(id);
    if ((await this.core.barrier.list(SNAPSHOTS_PREFIX)).length >= MAX_SNAPSHOTS) {
      throw new SnapshotQuotaExceededFault(`Cannot create more than ${MAX_SNAPSHOTS} manual snapshots.`);
    }
  }

  /** The caller may use the key through RDS (as CreateDBInstance checks); KMSKeyNotAccessibleFault otherwise. */
  private async usableKey(ident: string, ctx: DbCallContext): Promise<{ keyId: string; arn: string }> {
    try {
      if (isRdsDefaultAlias(ident)) await this.core.kms.serviceKey('rds');
      return await this.core.kms.authorizeThroughService(ident, ['kms:CreateGrant', 'kms:DescribeKey'], {
        caller: ctx.caller, request: { requestId: ctx.requestId, sourceIp: ctx.sourceIp, secureTransport: ctx.secureTransport, userAgent: ctx.userAgent },
        viaService: rdsPrincipal(this.core.region),
      });
    } catch (e) {
      if (e instanceof RekeyError) throw keyNotAccessible(ident);
      throw e;
    }
  }

  private arnOf(id: string): string {
    return `arn:aws:rds:${this.core.region}:${this.core.accountId}:snapshot:${id}`;
  }

  /** A new snapshot record of an instance (status creating), not yet written. */
  private fromInstance(inst: InstanceRecord, id: string, tags: DbSnapshot['tags'], kind: SnapshotOpKind): SnapshotRecord {
    return {
      v: 1, id, arn: this.arnOf(id), snapshotResourceId: newResourceId().replace(/^db-/, 'snap-'), status: 'creating', op: { kind, id: randomUUID() },
      instanceId: inst.id, resourceId: inst.resourceId, engine: inst.engine, engineVersion: inst.engineVersion, binDir: inst.binDir,
      instanceClass: inst.instanceClass, allocatedStorageGiB: inst.allocatedStorageGiB, masterUsername: inst.masterUsername,
      ...(inst.dbName !== undefined ? { dbName: inst.dbName } : {}),
      port: inst.endpointPort, adminPassword: inst.adminPassword, instanceCreatedAt: inst.createdAt, createdAt: this.core.clock().getTime(),
      encrypted: inst.storageEncrypted, ...(inst.kmsKeyArn ? { kmsKeyArn: inst.kmsKeyArn, kmsKeyId: inst.kmsKeyId ?? inst.kmsKeyArn } : {}),
      percentProgress: 0, tags: tags.map((t) => ({ ...t })),
    };
  }

  async enqueue(rec: SnapshotRecord): Promise<void> {
    if (!rec.op) return;
    await this.core.jobs.enqueue({
      kind: rec.op.kind, target: rec.arn, data: { id: rec.id, snapshotResourceId: rec.snapshotResourceId, opId: rec.op.id } satisfies SnapshotJobData,
      dedupeKey: `db/${rec.snapshotResourceId}/${rec.op.id}`, maxAttempts: 10,
    });
  }

  async create(input: CreateDbSnapshotInput, ctx: DbCallContext): Promise<DbSnapshot> {
    const id = input.id.toLowerCase();
    const inst = await this.instance(input.instanceId);
    if (inst.status !== 'available' || inst.op) {
      throw new InvalidDBInstanceStateFault(`Cannot create a snapshot because the database instance ${inst.id} is not currently in the available state.`);
    }
    await this.checkNew(id);
    if (inst.storageEncrypted && inst.kmsKeyArn) await this.usableKey(inst.kmsKeyArn, ctx);
    await ctx.beforeCommit?.();
    const rec = this.fromInstance(inst, id, input.tags, 'db.snapshot.create');
    await this.commitNew(rec, []);
    await this.enqueue(rec);
    return snapshotToApi(rec);
  }

  private async commitNew(rec: SnapshotRecord, more: Parameters<Barrier['transaction']>[0]): Promise<void> {
    await this.core.barrier.transaction([Barrier.putOp(snapshotPath(rec.id), rec, 0), ...more]).catch((e: unknown) => {
      throw /version/i.test(String((e as Error).name) + String(e)) ? alreadyExists(rec.id) : e;
    });
  }

  /** DeleteDBInstance with FinalDBSnapshotIdentifier: the snapshot first (db.final-snapshot waits for it), then the instance's db.delete. */
  async deleteWithFinalSnapshot(instanceId: string, snapshotId: string, ctx: DbCallContext): Promise<DbInstance> {
    const id = snapshotId.toLowerCase();
    const got = await this.core.barrier.getJSON<InstanceRecord>(instancePath(instanceId.toLowerCase()));
    if (!got) throw new DBInstanceNotFoundFault(`DBInstance ${instanceId} not found.`);
    const inst = got.value;
    if (inst.status !== 'available' || inst.op) {
      throw new InvalidDBInstanceStateFault(`Instance ${inst.id} is not in available state: a final snapshot needs a running instance (stopped or failed instances: SkipFinalSnapshot).`);
    }
    await this.checkNew(id);
    if (inst.storageEncrypted && inst.kmsKeyArn) await this.usableKey(inst.kmsKeyArn, ctx);
    await ctx.beforeCommit?.();
    const snap = this.fromInstance(inst, id, [], 'db.snapshot.create');
    const next: InstanceRecord = { ...inst, status: 'deleting', desired: 'deleted', op: { kind: 'db.final-snapshot', id: randomUUID() } };
    await this.commitNew(snap, [Barrier.putOp(instancePath(inst.id), next, got.version), Barrier.putOp(finalSnapshotPath(inst.id), { snapshotId: id })]);
    await this.enqueue(snap);
    await this.core.enqueue(next);
    return toApi(next);
  }

  async describe(opts: { id?: string; instanceId?: string; after?: string; limit: number }): Promise<{ snapshots: DbSnapshot[]; next?: string }> {
    if (opts.id !== undefined) {
      const one = await this.record(opts.id);
      return { snapshots: opts.instanceId === undefined || opts.instanceId.toLowerCase() === one.instanceId ? [snapshotToApi(one)] : [] };
    }
    const recs = (await this.all()).filter((r) => (opts.after === undefined || r.id > opts.after) && (opts.instanceId === undefined || r.instanceId === opts.instanceId.toLowerCase()));
    recs.sort((a, b) => (a.id < b.id ? -1 : 1));
    const page = recs.slice(0, opts.limit);
    const last = page[page.length - 1];
    return { snapshots: page.map(snapshotToApi), ...(recs.length > opts.limit && last ? { next: last.id } : {}) };
  }

  async delete(idOrArn: string, ctx: DbCallContext): Promise<DbSnapshot> {
    const rec = await this.record(idOrArn);
    const busy = rec.op !== undefined || (await this.all()).some((r) => r.sourceId === rec.id && r.status === 'copying');
    if (busy) throw new InvalidDBSnapshotStateFault(`Cannot delete the snapshot ${rec.id} while it is ${rec.status === 'available' ? 'being copied' : rec.status}.`);
    await ctx.beforeCommit?.();
    const next: SnapshotRecord = { ...rec, status: 'deleting', op: { kind: 'db.snapshot.delete', id: randomUUID() } };
    await this.update(rec.id, (r) => {
      if (r.op) throw new InvalidDBSnapshotStateFault(`Cannot delete the snapshot ${r.id} while it is ${r.status}.`);
      return next;
    });
    await this.enqueue(next);
    return snapshotToApi(next);
  }

  async copy(input: CopyDbSnapshotInput, ctx: DbCallContext): Promise<DbSnapshot> {
    const src = await this.record(input.sourceId);
    if (src.status !== 'available') throw new InvalidDBSnapshotStateFault(`Snapshot ${src.id} is not in available state.`);
    const id = input.targetId.toLowerCase();
    await this.checkNew(id);
    const key = input.kmsKeyId !== undefined ? await this.usableKey(input.kmsKeyId, ctx)
      : src.encrypted && src.kmsKeyArn ? await this.usableKey(src.kmsKeyArn, ctx) : undefined;
    await ctx.beforeCommit?.();
    const { wrappedKey: _k, grantId: _g, bytes: _b, lastError: _e, ...base } = src;
    const rec: SnapshotRecord = {
      ...base, id, arn: this.arnOf(id), snapshotResourceId: newResourceId().replace(/^db-/, 'snap-'), status: 'copying',
      op: { kind: 'db.snapshot.copy', id: randomUUID() }, createdAt: this.core.clock().getTime(), percentProgress: 0,
      encrypted: key !== undefined, sourceSnapshotArn: src.arn, sourceId: src.id,
      tags: [...(input.copyTags ? src.tags : []), ...input.tags].map((t) => ({ ...t })),
    };
    delete rec.kmsKeyArn;
    delete rec.kmsKeyId;
    if (key) Object.assign(rec, { kmsKeyArn: key.arn, kmsKeyId: key.keyId });
    await this.commitNew(rec, []);
    await this.enqueue(rec);
    return snapshotToApi(rec);
  }

  async restore(input: RestoreDbInstanceInput, ctx: DbCallContext): Promise<DbInstance> {
    const id = input.id.toLowerCase();
    const snap = await this.record(input.snapshotId);
    if (snap.status !== 'available') throw new InvalidDBSnapshotStateFault(`Snapshot ${snap.id} is not in available state.`);
    if (await this.core.barrier.getJSON(instancePath(id))) throw new DBInstanceAlreadyExistsFault('DB instance already exists');
    if ((await this.core.barrier.list('db/instances/')).length >= this.core.cfg.maxInstances) throw new InstanceQuotaExceededFault('Instance quota exceeded');
    if (snap.encrypted && typeof this.core.tools === 'string') throw new InvalidParameterCombination(this.core.tools);
    if (typeof this.core.user === 'string') throw new InvalidParameterValue(this.core.user);
    const version = pickVersion(this.core.engines, snap.engine, snap.engineVersion);
    if (!version || version.engineVersion.split('.')[0] !== snap.engineVersion.split('.')[0]) {
      throw new InvalidParameterCombination(`Cannot find version ${snap.engineVersion} for ${snap.engine}: the snapshot needs PostgreSQL ${snap.engineVersion.split('.')[0]} installed on this node.`);
    }
    if (snap.encrypted && snap.kmsKeyArn) await this.usableKey(snap.kmsKeyArn, ctx);
    // the whole file is authenticated before anything is made: a damaged snapshot changes nothing
    try {
      await verifySnapshotFile(this.core.keyDeps, this.dbDir, snap);
    } catch (e) {
      if (e instanceof StreamAuthenticationFailed) throw new InvalidDBSnapshotStateFault(`DBSnapshot ${snap.id} cannot be restored: ${e.message}`);
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new InvalidDBSnapshotStateFault(`DBSnapshot ${snap.id} cannot be restored: its file is missing from this node.`);
      if (e instanceof RekeyError) throw keyNotAccessible(snap.kmsKeyArn ?? '');
      throw e;
    }
    const endpointPort = input.port ?? await freePort(this.core.cfg.endpointHost);
    await ctx.beforeCommit?.();
    await this.core.runtime.endpoint({ id, endpointPort }).catch((e: unknown) => {
      throw new InvalidParameterValue(`Port ${endpointPort} is not available on ${this.core.cfg.endpointHost}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    });
    const rec: InstanceRecord = {
      v: 1, id, resourceId: newResourceId(), arn: `arn:aws:rds:${this.core.region}:${this.core.accountId}:db:${id}`, engine: snap.engine,
      engineVersion: version.engineVersion, binDir: version.binDir, instanceClass: input.instanceClass ?? snap.instanceClass,
      allocatedStorageGiB: snap.allocatedStorageGiB, masterUsername: snap.masterUsername, ...(snap.dbName !== undefined ? { dbName: snap.dbName } : {}),
      endpointAddress: this.core.cfg.endpointAddress, endpointPort, status: 'creating', desired: 'available', op: { kind: 'db.restore', id: randomUUID() },
      storageEncrypted: snap.encrypted, ...(snap.kmsKeyArn ? { kmsKeyArn: snap.kmsKeyArn, kmsKeyId: snap.kmsKeyId ?? snap.kmsKeyArn } : {}),
      adminPassword: snap.adminPassword, deletionProtection: input.deletionProtection, createdAt: this.core.clock().getTime(),
      tags: input.tags.map((t) => ({ ...t })),
    };
    try {
      await this.core.barrier.transaction([
        Barrier.putOp(instancePath(id), rec, 0),
        Barrier.putOp(restoreSourcePath(id), { snapshotId: snap.id, snapshotResourceId: snap.snapshotResourceId }),
      ]);
    } catch (e) {
      await this.core.runtime.destroyEndpoint(id);
      throw /version/i.test(String(e)) ? new DBInstanceAlreadyExistsFault('DB instance already exists') : e;
    }
    await this.core.enqueue(rec);
    return toApi(rec);
  }

  /** Read-modify-write of a snapshot record with compare-and-swap (retried on conflict). */
  async update(id: string, change: (r: SnapshotRecord) => SnapshotRecord): Promise<SnapshotRecord> {
    for (let i = 0; ; i++) {
      const got = await this.core.barrier.getJSON<SnapshotRecord>(snapshotPath(id));
      if (!got) throw snapshotNotFound(id);
      const next = change(got.value);
      try {
        await this.core.barrier.transaction([Barrier.putOp(snapshotPath(id), next, got.version)]);
        return next;
      } catch (e) {
        if (i >= 5 || e instanceof RekeyError) throw e;
      }
    }
  }

  /** After a restart: every unfinished snapshot operation's job again (same dedupe key: found, or made if the crash came first). */
  async resume(): Promise<void> {
    for (const rec of await this.all()) if (rec.op) await this.enqueue(rec).catch((e: unknown) => this.core.log(`db: snapshot ${rec.id}: ${e instanceof Error ? e.message : String(e)}`));
  }

}
