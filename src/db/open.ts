// Wiring of the databases component: openDatabases(deps) -> the DbService plus start/close for the
// server. Call it before the job engine starts (it registers the db.* job kinds); start() then
// re-adopts or restarts the instances of this node and resumes unfinished operations; close()
// stops the servers and locks the volumes.
import type { DbService } from './api.ts';
import { DbCore, type DbDeps } from './core.ts';
import { dbConfig, type DbConfigInput } from './config.ts';
import { findEngines, type EngineSearch } from './engines.ts';
import { isKeyInaccessible, registerDbJobs } from './jobs.ts';
import { CHANGE_KEY_KIND, registerChangeKeyJob, startChangeKey } from './change-key.ts';
import type { DbCallContext, DbInstance } from './api.ts';
import { INSTANCES_PREFIX, instancePath, type InstanceRecord } from './model.ts';
import { serverUser } from './os-user.ts';
import { Runtime } from './runtime.ts';
import { PostgresDbService } from './service.ts';
import { SnapshotOps } from './snapshots/ops.ts';
import { ReplicaOps } from './read-replicas.ts';
import { registerSnapshotJobs } from './snapshots/jobs.ts';
import { rewrapVolumeKey, unwrapVolumeKey, wrappedMaterialId } from './volume-key.ts';
import { findVolumeTools } from './volume.ts';
import { MARIADB_BASE_SETTINGS } from './mariadb-keys.ts';

export interface OpenDatabasesDeps extends DbDeps {
  /** rekey's data directory (volumes go to <dataDir>/db unless config.dir says otherwise). */
  dataDir: string;
  config?: DbConfigInput;
  engineSearch?: EngineSearch;
  /** How often checkKeys runs (default 60 s). */
  keyCheckMs?: number;
}

export interface Databases {
  service: DbService;
  core: DbCore;
  /** Re-adopts/starts this node's instances and resumes unfinished operations (after the job engine started). */
  start(): Promise<void>;
  /**
   * The periodic key check (every keyCheckMs, and at start): enqueues db.rewrap for every encrypted
   * instance whose volume key is wrapped under older material than its key's current one (on-demand
   * rotations emit no event; automatic ones also trigger it at once), and moves running instances
   * whose key is no longer Enabled to inaccessible-encryption-credentials-recoverable (and back to
   * available when the key is Enabled again), as RDS reports them; restarts the InnoDB encryption
   * threads of an encrypted mariadb instance whose key rotation stalled (MariaDbKeys.nudgeIfStuck),
   * and retires the old key versions its server provably no longer needs (MariaDbKeys.retire).
   */
  checkKeys(): Promise<void>;
  /** Stops every server and unmounts every volume. */
  close(): Promise<void>;
  /** `rekey db change-key`: starts the db.change-key job (src/db/change-key.ts). */
  changeKey(id: string, kmsKeyId: string, ctx: DbCallContext): Promise<{ instance: DbInstance; jobId: string }>;
}

export function openDatabases(deps: OpenDatabasesDeps): Databases {
  const cfg = dbConfig(deps.dataDir, deps.config);
  const tools = findVolumeTools();
  const user = serverUser(cfg.serverUser);
  const mariadbUser = serverUser(cfg.mariadbServerUser, 'MariaDB', 'mariadb-server');
  let core!: DbCore;
  const runtime = new Runtime({
    dir: cfg.dir, endpointHost: cfg.endpointHost, sharedBuffersCapMiB: cfg.sharedBuffersCapMiB, tools, user, mariadbUser,
    mariadbSettings: async (rec) => (core.mariadbKeys ? await core.mariadbKeys.settings(rec) : { ...MARIADB_BASE_SETTINGS }),
    log: (m) => core.log(m),
    unlock: (rec) => unwrapVolumeKey(core.keyDeps, rec),
    onFailed: (id, reason) => {
      core.log(`db: ${id} failed: ${reason}`);
      void (async () => {
        // an encrypted server that died and cannot come back because its KMS key is no longer
        // usable (a MariaDB server aborts once its key cache needs a key rekey no longer serves):
        // what a start would end in, volume locked
        const rec = (await deps.barrier.getJSON<InstanceRecord>(instancePath(id)))?.value;
        const keyState = rec?.storageEncrypted ? await keyProblem(rec) : null;
        if (rec && keyState) {
          await runtime.bringDown(rec).catch(() => {});
          await core.update(id, (r) => ({ ...r, status: 'inaccessible-encryption-credentials', lastError: keyState }));
          return;
        }
        await core.update(id, (r) => ({ ...r, status: 'failed', lastError: 'ServerExited' }));
      })().catch(() => {});
    },
  });
  core = new DbCore(deps, cfg, () => findEngines(deps.engineSearch), tools, user, runtime, mariadbUser);
  const snapshots = new SnapshotOps(core); // [snapshots]
  registerSnapshotJobs(deps.jobs, core, snapshots);
  const replicas = new ReplicaOps(core); // read replicas
  replicas.register(deps.jobs);
  registerDbJobs(deps.jobs, {
    barrier: deps.barrier,
    provision: (rec, pw) => core.provision(rec, pw),
    bringUp: (rec) => runtime.bringUp(rec),
    bringDown: (rec) => runtime.bringDown(rec),
    destroy: async (rec) => {
      await replicas.beforeDestroy(rec); // a source's replicas are promoted (RDS)
      await runtime.destroy(rec);
      await core.mariadbKeys?.remove(rec); // an encrypted mariadb instance's keyring and token
      await replicas.afterDestroy(rec); // a replica's slot and role on its source go, once its server is down
      if (rec.kmsKeyId && rec.grantId) await deps.kms.retireServiceGrant(rec.kmsKeyId, rec.grantId).catch(() => false);
      if (rec.kmsKeyArn) await deps.kms.dependents.unregister(rec.kmsKeyArn, rec.arn).catch(() => false);
      if (rec.masterUserSecret) await core.deleteMasterSecret(rec.masterUserSecret.arn).catch(() => {});
    },
    rewrap: (rec) => rewrapVolumeKey(core.keyDeps, rec),
    initialized: (rec) => runtime.initialized(rec),
    log: (m) => core.log(m),
  });

  registerChangeKeyJob(deps.jobs, core, deps.audit);

  /** Why the instance's key cannot be used (the error a KMS call would give), or null when it is Enabled. */
  async function keyProblem(rec: InstanceRecord): Promise<string | null> {
    const key = rec.kmsKeyId ? await deps.kms.store.getKey(rec.kmsKeyId) : null;
    if (!key) return 'NotFoundException';
    if (key.record.state === 'Enabled') return null;
    return key.record.state === 'Disabled' ? 'DisabledException' : 'KMSInvalidStateException';
  }

  const all = async (): Promise<InstanceRecord[]> => {
    const keys = await deps.barrier.list(INSTANCES_PREFIX);
    const got = await Promise.all(keys.map((k) => deps.barrier.getJSON<InstanceRecord>(k)));
    return got.flatMap((g) => (g ? [g.value] : []));
  };

  /** A rotation of an instance's key: re-wrap its volume key (db.rewrap, once per new material). */
  const rewrapIfBehind = async (rec: InstanceRecord): Promise<void> => {
    if (!rec.storageEncrypted || !rec.kmsKeyId || !rec.wrappedVolumeKey || rec.status === 'deleting') return;
    const current = await deps.kms.currentMaterialId(rec.kmsKeyId);
    if (!current || current === wrappedMaterialId(rec)) return;
    await deps.jobs.enqueue({ kind: 'db.rewrap', target: rec.arn, data: { id: rec.id, resourceId: rec.resourceId, opId: current }, dedupeKey: `db/${rec.resourceId}/rewrap/${current}`, maxAttempts: 50 });
  };
  deps.kms.lifecycle.addKeyEventListener((e) => {
    if (e.type !== 'RotateKey') return;
    void all().then(async (recs) => {
      for (const rec of recs) if (rec.kmsKeyId === e.keyId) await rewrapIfBehind(rec);
    }).catch((err: unknown) => core.log(`db: re-wrap after rotation of ${e.keyId}: ${err instanceof Error ? err.message : String(err)}`));
  });

  const keyUsable = async (rec: InstanceRecord): Promise<boolean> => (await keyProblem(rec)) === null;
  const checkKeys = async (): Promise<void> => {
    for (const rec of await all()) {
      try {
        if (!rec.storageEncrypted || rec.op) continue;
        await rewrapIfBehind(rec);
        const usable = await keyUsable(rec);
        const next = rec.status === 'available' && !usable ? 'inaccessible-encryption-credentials-recoverable'
          : rec.status === 'inaccessible-encryption-credentials-recoverable' && usable ? 'available' : null;
        if (next) await core.update(rec.id, (r) => (r.status === rec.status && !r.op ? { ...r, status: next } : r));
        // an encrypted mariadb instance whose InnoDB stopped short of the newest key version
        if (rec.engine === 'mariadb' && usable && rec.status === 'available' && core.mariadbKeys && runtime.serverPort(rec)) {
          if (await core.mariadbKeys.nudgeIfStuck(rec, runtime.paths(rec))) core.log(`db: ${rec.id}: restarted InnoDB's encryption threads (key rotation had stalled)`);
          // old key versions the server provably no longer needs (src/db/mariadb-retire.ts)
          const retired = await core.mariadbKeys.retire(rec, runtime.paths(rec));
          if (retired.length > 0) core.log(`db: ${rec.id}: retired key versions ${retired.join(', ')}`);
        }
      } catch (e) {
        core.log(`db: key check of ${rec.id}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  let timer: NodeJS.Timeout | undefined;

  return {
    service: new PostgresDbService(core, snapshots, replicas),
    core,
    changeKey: (id, kmsKeyId, ctx) => startChangeKey(core, id, kmsKeyId, ctx), // refuses mariadb instances
    checkKeys,
    async start() {
      timer = setInterval(() => void checkKeys().catch(() => {}), deps.keyCheckMs ?? 60_000);
      timer.unref();
      for (const rec of await all()) {
        try {
          if (rec.status !== 'deleting') await runtime.endpoint(rec);
          if (rec.op?.kind === CHANGE_KEY_KIND && rec.changeKey && rec.changeKey.phase !== 'promoting' && rec.changeKey.phase !== 'cleanup') {
            // a change-key before its point of no return: the old server serves while the job resumes
            await runtime.bringUp(rec).catch((e: unknown) => core.log(`db: could not start ${rec.id}: ${e instanceof Error ? e.name : 'error'}`));
            await core.enqueue(rec);
          } else if (rec.op) {
            await core.enqueue(rec); // resumes (or creates, after a crash before it) the operation's job
          } else if (rec.status === 'available' || rec.status === 'inaccessible-encryption-credentials-recoverable') {
            // re-adopt a server still running, else unlock and start it again
            runtime.bringUp(rec).catch(async (e: unknown) => {
              core.log(`db: could not start ${rec.id}: ${e instanceof Error ? e.name : 'error'}`);
              const status = isKeyInaccessible(e) ? 'inaccessible-encryption-credentials' : 'failed';
              await core.update(rec.id, (r) => ({ ...r, status, lastError: e instanceof Error ? e.name : 'Error' })).catch(() => {});
            });
          }
        } catch (e) {
          core.log(`db: ${rec.id}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      await snapshots.resume(); // [snapshots]
      await checkKeys();
    },
    async close() {
      clearInterval(timer);
      await runtime.close(await all().catch(() => []));
    },
  };
}

