// PromoteReadReplica (RDS API Reference): the replica stops replicating and becomes a standalone,
// writable instance; it answers DBInstanceStatus "modifying" (as the AWS CLI's example shows), then
// available. BackupRetentionPeriod (0-35) and PreferredBackupWindow are accepted and ignored: rekey
// has no automated backups. An instance that is not a replica is InvalidDBInstanceState (RDS).
import { InvalidParameterValue } from '../../errors.ts';
import { defineOperation } from '../operation.ts';
import { checkIdentifier, optInt, reqString } from '../validate.ts';
import { instanceArn, toWireInstance } from '../wire.ts';
import type { InstanceRequest } from './instance-request.ts';

export const promoteReadReplica = defineOperation<InstanceRequest>({
  name: 'PromoteReadReplica',
  mutating: true,
  decode(p) {
    const retention = optInt(p, 'BackupRetentionPeriod');
    if (retention !== undefined && (retention < 0 || retention > 35)) throw new InvalidParameterValue(`Invalid value ${retention} for BackupRetentionPeriod. Must be between 0 and 35`);
    return { DBInstanceIdentifier: checkIdentifier(reqString(p, 'DBInstanceIdentifier')) };
  },
  resource: (r, env) => instanceArn(env.partition, env.region, env.accountId, r.DBInstanceIdentifier),
  run: async (r, env, ctx) => ({ DBInstance: toWireInstance(await env.db.promoteReadReplica(r.DBInstanceIdentifier, ctx)) }),
});
