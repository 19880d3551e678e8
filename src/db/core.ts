// What the instance operations share: dependencies, configuration, the runtime, and the few
// actions several of them take (enqueue a job, the managed master secret, provisioning).
import { InvalidDBInstanceStateFault } from '../errors.ts';
import type { AuditLog } from '../audit/index.ts';
import type { JobEngine } from '../jobs/engine.ts';
import type { KmsService } from '../kms/service.ts';
import type { SecretsService } from '../secrets/service.ts';
import { purge } from '../secrets/operations/delete-secret.ts';
import { Barrier } from '../storage/barrier.ts';
import type { DbCallContext, DbEngineVersion } from './api.ts';
import type { DbConfig } from './config.ts';
import { instancePath, type InstanceRecord } from './model.ts';
import { MariaDbKeys, type MariaDbKeysDeps } from './mariadb-keys.ts';
import { engineOf } from './runtime.ts';
import type { ServerUser } from './os-user.ts';
import type { Runtime } from './runtime.ts';
import { GRANT_OPERATIONS, generateVolumeKey, rdsPrincipal, type KeyDeps } from './volume-key.ts';
import type { VolumeTools } from './volume.ts';
import { randomUUID, zeroize } from '../crypto/index.ts';

export interface DbDeps {
  barrier: Barrier;
  kms: KmsService;
  secrets: SecretsService;
  jobs: JobEngine;
  /** KMS use by instances (GenerateDataKey, Decrypt, ReEncrypt) is recorded here before it happens. */
  audit?: AuditLog;
  region: string;
  accountId: string;
  clock?: () => Date;
  log?: (m: string) => void;
  /** rekey's keyserve, for StorageEncrypted mariadb instances (absent: they are refused). */
  keyserve?: MariaDbKeysDeps;
}

export class DbCore {
  readonly barrier: Barrier;
  readonly kms: KmsService;
  readonly secrets: SecretsService;
  readonly jobs: JobEngine;
  readonly region: string;
  readonly accountId: string;
  readonly clock: () => Date;
  readonly log: (m: string) => void;
  readonly keyDeps: KeyDeps;
  /** Keyrings and tokens of encrypted mariadb instances (absent without keyserve). */
  readonly mariadbKeys: MariaDbKeys | undefined;

  private found: DbEngineVersion[] | null = null;

  /** Installed engine versions, looked up on first use (it runs `postgres --version` per install). */
  get engines(): DbEngineVersion[] {
    this.found ??= this.findEngines();
    return this.found;
  }

  constructor(
    deps: DbDeps,
    readonly cfg: DbConfig,
    private readonly findEngines: () => DbEngineVersion[],
    readonly tools: VolumeTools | string,
    readonly user: ServerUser | string,
    readonly runtime: Runtime,
    /** The OS user of MariaDB servers (or why there is none). */
    readonly mariadbUser: ServerUser | string = user,
  ) {
    this.barrier = deps.barrier;
    this.kms = deps.kms;
    this.secrets = deps.secrets;
    this.jobs = deps.jobs;
    this.region = deps.region;
    this.accountId = deps.accountId;
    this.clock = deps.clock ?? (() => new Date());
    this.log = deps.log ?? ((m) => process.stderr.write(`rekey: ${m}\n`));
    this.mariadbKeys = deps.keyserve ? new MariaDbKeys(deps.keyserve, rdsPrincipal(deps.region)) : undefined;
    this.keyDeps = { kms: deps.kms, region: deps.region, accountId: deps.accountId, clock: this.clock, ...(deps.audit ? { audit: deps.audit } : {}) };
  }

  async enqueue(rec: InstanceRecord): Promise<string> {
    if (!rec.op) throw new Error(`instance ${rec.id} has no operation to run`);
    const { job } = await this.jobs.enqueue({
      kind: rec.op.kind, target: rec.arn, data: { id: rec.id, resourceId: rec.resourceId, opId: rec.op.id },
      dedupeKey: `db/${rec.resourceId}/${rec.op.id}`, maxAttempts: 10,
    });
    return job.id;
  }

  /** ManageMasterUserPassword: the secret rds!db-<uuid> (RDS's name), rotated by the built-in single-user strategy every 7 days (RDS's default). */
  async createMasterSecret(o: { id: string; engine: InstanceRecord['engine']; username: string; password: string; port: number; dbName?: string | undefined; kmsKeyId?: string | undefined }, ctx: DbCallContext): Promise<{ arn: string; kmsKeyId: string }> {
    const request = { requestId: ctx.requestId, sourceIp: ctx.sourceIp, secureTransport: ctx.secureTransport, userAgent: ctx.userAgent, managingService: 'rds' as const };
    // RDS stores {"username","password"}; rekey adds engine/host/port/dbname so the built-in rotation strategy can log in.
    const value = { username: o.username, password: o.password, engine: o.engine, host: this.cfg.endpointAddress, port: o.port, ...(o.dbName ? { dbname: o.dbName } : {}) };
    const created = await this.secrets.call('CreateSecret', {
      Name: `rds!db-${randomUUID()}`, SecretString: JSON.stringify(value), ClientRequestToken: randomUUID(),
      Description: `Secret associated with primary RDS DB instance: arn:aws:rds:${this.region}:${this.accountId}:db:${o.id}`,
      ...(o.kmsKeyId ? { KmsKeyId: o.kmsKeyId } : {}),
    }, ctx.caller, request);
    const arn = String(created.ARN);
    try {
      await this.secrets.call('RotateSecret', {
        SecretId: arn, ClientRequestToken: randomUUID(), RotationLambdaARN: `arn:aws:lambda:${this.region}:${this.accountId}:function:rekey-${o.engine === 'mariadb' ? 'mysql' : 'postgresql'}-single-user`,
        RotationRules: { AutomaticallyAfterDays: 7 }, RotateImmediately: false,
      }, ctx.caller, request);
    } catch (e) {
      await this.deleteMasterSecret(arn).catch(() => {});
      throw e;
    }
    const kmsKeyId = o.kmsKeyId ?? (await this.kms.serviceKey('secretsmanager')).arn;
    return { arn, kmsKeyId };
  }

  async deleteMasterSecret(arn: string): Promise<void> {
    const name = arn.slice(arn.lastIndexOf(':') + 1).replace(/-[A-Za-z0-9]{6}$/, '');
    await purge(this.secrets.ctx, name, false);
  }

  /** db.create's work: the service's grant and the volume key (first run), then volume, cluster, server, admin role, database. */
  async provision(rec: InstanceRecord, masterPassword: Buffer | null, restore?: (dataDir: string) => Promise<void>): Promise<void> {
    try {
      if (rec.storageEncrypted && rec.kmsKeyId && rec.kmsKeyArn) {
        rec.grantId = await this.kms.createServiceGrant(rec.kmsKeyId, {
          name: `rds-${rec.resourceId}`, granteePrincipal: rdsPrincipal(this.region), retiringPrincipal: rdsPrincipal(this.region),
          operations: GRANT_OPERATIONS, contextSubset: { 'aws:rds:db-id': rec.resourceId },
        });
        await this.kms.dependents.register(rec.kmsKeyArn, { type: 'db-instance', arn: rec.arn, name: rec.id });
        if (!rec.wrappedVolumeKey) {
          const { plaintext, wrapped } = await generateVolumeKey(this.keyDeps, rec.kmsKeyArn, rec);
          zeroize(plaintext);
          rec.wrappedVolumeKey = wrapped.toString('base64');
          await this.update(rec.id, (r) => ({ ...r, wrappedVolumeKey: rec.wrappedVolumeKey, grantId: rec.grantId }));
        }
      }
      if (rec.engine === 'mariadb' && rec.storageEncrypted && !rec.mariadbKeys) {
        if (!this.mariadbKeys) throw new Error('StorageEncrypted mariadb instances need rekey\'s keyserve');
        const keys = await this.mariadbKeys.ensure(rec);
        rec.mariadbKeys = keys;
        await this.update(rec.id, (r) => ({ ...r, mariadbKeys: keys }));
      }
      await this.runtime.bringUp(rec, masterPassword ? { masterPassword } : restore ? { restore } : undefined); // [snapshots] restore
      const port = this.runtime.serverPort(rec);
      if (!port || !masterPassword) return;
      await engineOf(rec).setupAccounts(rec, this.runtime.paths(rec), port, masterPassword.toString('utf8'));
    } finally {
      if (masterPassword) zeroize(masterPassword);
    }
  }

  /** ModifyDBInstance MasterUserPassword: as rekey_admin on the instance's own server (it must be running). */
  async setMasterPassword(rec: InstanceRecord, password: string): Promise<void> {
    const port = this.runtime.serverPort(rec);
    if (!port) throw new InvalidDBInstanceStateFault(`Instance ${rec.id} is not in available state.`);
    await engineOf(rec).setMasterPassword(rec, this.runtime.paths(rec), port, password);
  }

  /** Read-modify-write of a record with compare-and-swap (retried on conflict). */
  async update(id: string, change: (r: InstanceRecord) => InstanceRecord): Promise<InstanceRecord> {
    for (let i = 0; ; i++) {
      const got = await this.barrier.getJSON<InstanceRecord>(instancePath(id));
      if (!got) throw new Error(`instance ${id} is gone`);
      const next = change(got.value);
      try {
        await this.barrier.transaction([Barrier.putOp(instancePath(id), next, got.version)]);
        return next;
      } catch (e) {
        if (i >= 5) throw e;
      }
    }
  }
}
