// CreateDBInstance: checks that depend on state (engine installed, name free, KMS key usable by the
// caller through RDS, tools for StorageEncrypted), then one commit (the record, the master password
// until initdb) and the db.create job. The managed master secret is created before the commit (it
// needs the caller's authority) and deleted again when the commit fails.
import { randomBytes, randomUUID } from '../crypto/index.ts';
import {
  DBInstanceAlreadyExistsFault, InstanceQuotaExceededFault, InvalidParameterCombination, InvalidParameterValue,
  KMSKeyNotAccessibleFault, RekeyError,
} from '../errors.ts';
import { Barrier } from '../storage/barrier.ts';
import type { CreateDbInstanceInput, DbCallContext, DbInstance } from './api.ts';
import { pickVersion } from './engines.ts';
import { ADMIN_ROLE, instancePath, pendingPasswordPath, toApi, type InstanceRecord } from './model.ts';
import type { DbCore } from './core.ts';
import { freePort } from './runtime.ts';
import { rdsPrincipal } from './volume-key.ts';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** DbiResourceId: "db-" + 26 upper-case base32 characters. */
export function newResourceId(): string {
  const bytes = randomBytes(26);
  let s = 'db-';
  for (const b of bytes) s += BASE32[b & 31];
  return s;
}

/**
 * The caller must be able to use `ident` through RDS (kms:CreateGrant and kms:DescribeKey via
 * rds.<region>.amazonaws.com), as CreateDBInstance, CreateDBInstanceReadReplica and change-key ask;
 * any refusal is RDS's KMSKeyNotAccessibleFault.
 */
export async function keyUsableThroughRds(core: DbCore, ident: string, ctx: DbCallContext): Promise<{ keyId: string; arn: string }> {
  try {
    if (isRdsDefaultAlias(ident)) await core.kms.serviceKey('rds');
    return await core.kms.authorizeThroughService(ident, ['kms:CreateGrant', 'kms:DescribeKey'], {
      caller: ctx.caller, request: { requestId: ctx.requestId, sourceIp: ctx.sourceIp, secureTransport: ctx.secureTransport, userAgent: ctx.userAgent },
      viaService: rdsPrincipal(core.region),
    });
  } catch (e) {
    if (e instanceof RekeyError) throw keyNotAccessible(ident);
    throw e;
  }
}

export const keyNotAccessible = (key: string) => new KMSKeyNotAccessibleFault(`The specified KMS key [${key}] does not exist, is not enabled or you do not have permissions to access it.`);

export const isRdsDefaultAlias = (k: string) => k === 'alias/aws/rds' || /^arn:[\w-]+:kms:[^:]+:\d{12}:alias\/aws\/rds$/.test(k);

export async function createInstance(core: DbCore, input: CreateDbInstanceInput, ctx: DbCallContext): Promise<DbInstance> {
  const id = input.id.toLowerCase();
  const version = pickVersion(core.engines, input.engine, input.engineVersion);
  if (!version) throw new InvalidParameterCombination(`Cannot find version ${input.engineVersion ?? '(any)'} for ${input.engine}`);
  if (input.masterUsername.toLowerCase() === ADMIN_ROLE) {
    throw new InvalidParameterValue(`MasterUsername ${input.masterUsername} cannot be used as it is a reserved word used by the engine`);
  }
  if (input.masterUserPassword !== undefined && input.manageMasterUserPassword) {
    throw new InvalidParameterCombination('You can\'t specify both MasterUserPassword and ManageMasterUserPassword.');
  }
  if (input.masterUserPassword === undefined && !input.manageMasterUserPassword) {
    throw new InvalidParameterValue('The parameter MasterUserPassword must be provided and must not be blank.');
  }
  if (input.masterUserSecretKmsKeyId !== undefined && !input.manageMasterUserPassword) {
    throw new InvalidParameterCombination('You can\'t specify MasterUserSecretKmsKeyId unless ManageMasterUserPassword is enabled.');
  }
  if (input.kmsKeyId !== undefined && !input.storageEncrypted) {
    throw new InvalidParameterCombination('Encryption key was specified but StorageEncrypted is not true.');
  }
  if (input.storageEncrypted && typeof core.tools === 'string') throw new InvalidParameterCombination(core.tools);
  if (input.storageEncrypted && input.engine === 'mariadb' && !core.mariadbKeys) {
    throw new InvalidParameterCombination('StorageEncrypted mariadb instances need rekey\'s keyserve (the MariaDB key service), which this node does not run.');
  }
  const osUser = input.engine === 'mariadb' ? core.mariadbUser : core.user;
  if (typeof osUser === 'string') throw new InvalidParameterValue(osUser);
  if (await core.barrier.getJSON(instancePath(id))) throw new DBInstanceAlreadyExistsFault('DB instance already exists');
  if ((await core.barrier.list('db/instances/')).length >= core.cfg.maxInstances) throw new InstanceQuotaExceededFault('Instance quota exceeded');

  let key: { keyId: string; arn: string } | undefined;
  if (input.storageEncrypted) key = await keyUsableThroughRds(core, input.kmsKeyId ?? 'alias/aws/rds', ctx);
  const endpointPort = input.port ?? await freePort(core.cfg.endpointHost);
  await ctx.beforeCommit?.();
  const resourceId = newResourceId();
  const arn = `arn:aws:rds:${core.region}:${core.accountId}:db:${id}`;
  // the endpoint is bound now: a port in use fails the call before anything is written
  await core.runtime.endpoint({ id, endpointPort }).catch((e: unknown) => {
    throw new InvalidParameterValue(`Port ${endpointPort} is not available on ${core.cfg.endpointHost}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  });
  const password = input.masterUserPassword ?? randomBytes(24).toString('base64url');
  let secret: { arn: string; kmsKeyId: string } | undefined;
  let committed = false;
  try {
    if (input.manageMasterUserPassword) secret = await core.createMasterSecret({ id, engine: input.engine, username: input.masterUsername, password, port: endpointPort, dbName: input.dbName, kmsKeyId: input.masterUserSecretKmsKeyId }, ctx);
    const rec: InstanceRecord = {
      v: 1, id, resourceId, arn, engine: input.engine, engineVersion: version.engineVersion, binDir: version.binDir,
      instanceClass: input.instanceClass, allocatedStorageGiB: input.allocatedStorageGiB, masterUsername: input.masterUsername,
      ...(input.dbName !== undefined ? { dbName: input.dbName } : {}),
      endpointAddress: core.cfg.endpointAddress, endpointPort, status: 'creating', desired: 'available',
      op: { kind: 'db.create', id: randomUUID() },
      storageEncrypted: input.storageEncrypted,
      ...(key ? { kmsKeyArn: key.arn, kmsKeyId: key.keyId } : {}),
      ...(secret ? { masterUserSecret: secret } : {}),
      adminPassword: randomBytes(24).toString('base64url'),
      deletionProtection: input.deletionProtection, createdAt: core.clock().getTime(), tags: input.tags.map((t) => ({ ...t })),
    };
    await core.barrier.transaction([
      Barrier.putOp(instancePath(id), rec, 0),
      Barrier.putOp(pendingPasswordPath(id), { password }),
    ]).catch((e: unknown) => {
      throw (e as Error).name === 'VersionMismatch' || /version/i.test(String(e)) ? new DBInstanceAlreadyExistsFault('DB instance already exists') : e;
    });
    committed = true;
    // a crash before the job exists: the next start's reconcile enqueues it (same dedupe key)
    await core.enqueue(rec);
    return toApi(rec);
  } catch (e) {
    if (committed) throw e;
    if (secret) await core.deleteMasterSecret(secret.arn).catch(() => {});
    await core.runtime.destroyEndpoint(id);
    throw e;
  }
}
