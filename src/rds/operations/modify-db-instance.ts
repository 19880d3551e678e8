// ModifyDBInstance: the master password (MasterUserPassword, or ManageMasterUserPassword with
// MasterUserSecretKmsKeyId, or RotateMasterUserPassword), DeletionProtection and ApplyImmediately.
// Other modifications (class, storage, engine version, identifier) are refused, not ignored.
import { InvalidParameterValue } from '../../errors.ts';
import type { ModifyDbInstanceInput } from '../../db/api.ts';
import { defineOperation } from '../operation.ts';
import { checkIdentifier, checkPassword, combination, optBool, optString, reqString } from '../validate.ts';
import { instanceArn, toWireInstance } from '../wire.ts';

export interface ModifyDBInstanceRequest {
  DBInstanceIdentifier: string;
  /** Never audited, never echoed. */
  MasterUserPassword?: string;
  ManageMasterUserPassword?: boolean;
  MasterUserSecretKmsKeyId?: string;
  RotateMasterUserPassword?: boolean;
  DeletionProtection?: boolean;
  ApplyImmediately: boolean;
}

const UNSUPPORTED = ['DBInstanceClass', 'AllocatedStorage', 'EngineVersion', 'NewDBInstanceIdentifier', 'MultiAZ', 'StorageType', 'Iops', 'DBPortNumber', 'Engine'];

export const modifyDBInstance = defineOperation<ModifyDBInstanceRequest>({
  name: 'ModifyDBInstance',
  mutating: true,
  decode(p) {
    const id = checkIdentifier(reqString(p, 'DBInstanceIdentifier'));
    for (const name of UNSUPPORTED) {
      if (p.has(name)) throw new InvalidParameterValue(`rekey does not support modifying ${name} (supported: MasterUserPassword, ManageMasterUserPassword, MasterUserSecretKmsKeyId, RotateMasterUserPassword, DeletionProtection, ApplyImmediately).`);
    }
    const password = optString(p, 'MasterUserPassword');
    const manage = optBool(p, 'ManageMasterUserPassword');
    const secretKey = optString(p, 'MasterUserSecretKmsKeyId');
    const rotate = optBool(p, 'RotateMasterUserPassword');
    const apply = optBool(p, 'ApplyImmediately') ?? false;
    const protection = optBool(p, 'DeletionProtection');
    if (password !== undefined && manage === true) combination('You can\'t specify MasterUserPassword when ManageMasterUserPassword is turned on.');
    if (password !== undefined && rotate === true) combination('You can\'t specify MasterUserPassword together with RotateMasterUserPassword.');
    if (secretKey !== undefined && manage !== true) combination('You can\'t specify MasterUserSecretKmsKeyId unless ManageMasterUserPassword is turned on.');
    if (rotate === true && !apply) combination('RotateMasterUserPassword requires ApplyImmediately.');
    if (rotate === true && manage === false) combination('You can\'t specify RotateMasterUserPassword when ManageMasterUserPassword is turned off.');
    // the engine is not known here: the PostgreSQL limit (8-128) is checked; MariaDB's 41 by src/db
    if (password !== undefined) checkPassword('postgres', password);
    return {
      DBInstanceIdentifier: id, ApplyImmediately: apply,
      ...(password !== undefined ? { MasterUserPassword: password } : {}),
      ...(manage !== undefined ? { ManageMasterUserPassword: manage } : {}),
      ...(secretKey !== undefined ? { MasterUserSecretKmsKeyId: secretKey } : {}),
      ...(rotate !== undefined ? { RotateMasterUserPassword: rotate } : {}),
      ...(protection !== undefined ? { DeletionProtection: protection } : {}),
    };
  },
  resource: (r, env) => instanceArn(env.partition, env.region, env.accountId, r.DBInstanceIdentifier),
  async run(r, env, ctx) {
    const input: ModifyDbInstanceInput = {
      id: r.DBInstanceIdentifier, applyImmediately: r.ApplyImmediately,
      ...(r.MasterUserPassword !== undefined ? { masterUserPassword: r.MasterUserPassword } : {}),
      ...(r.ManageMasterUserPassword !== undefined ? { manageMasterUserPassword: r.ManageMasterUserPassword } : {}),
      ...(r.MasterUserSecretKmsKeyId !== undefined ? { masterUserSecretKmsKeyId: r.MasterUserSecretKmsKeyId } : {}),
      ...(r.RotateMasterUserPassword !== undefined ? { rotateMasterUserPassword: r.RotateMasterUserPassword } : {}),
      ...(r.DeletionProtection !== undefined ? { deletionProtection: r.DeletionProtection } : {}),
    };
    return { DBInstance: toWireInstance(await env.db.modify(input, ctx)) };
  },
});
