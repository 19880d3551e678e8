// RestoreDBInstanceFromDBSnapshot: a new instance, on a new volume under its own volume key (wrapped
// under the snapshot's KMS key), with the snapshot's data. The snapshot file is authenticated end to
// end before anything is made: a damaged one is InvalidDBSnapshotState and nothing changes.
// Clusters, Multi-AZ and other engines are refused; other RDS parameters are accepted and ignored.
import { InvalidParameterCombination, InvalidParameterValue } from '../../errors.ts';
import { defineOperation } from '../operation.ts';
import { checkIdentifier, checkInstanceClass, checkPort, optBool, optInt, optString, reqString, tagsOf } from '../validate.ts';
import { fromWireTags, instanceArn, toWireInstance, type WireTag } from '../wire.ts';
import { checkSnapshotId } from '../snapshot-wire.ts';

export interface RestoreDBInstanceFromDBSnapshotRequest {
  DBInstanceIdentifier: string;
  DBSnapshotIdentifier: string;
  DBInstanceClass?: string;
  Port?: number;
  DeletionProtection: boolean;
  Tags: WireTag[];
}

export const restoreDBInstanceFromDBSnapshot = defineOperation<RestoreDBInstanceFromDBSnapshotRequest>({
  name: 'RestoreDBInstanceFromDBSnapshot',
  mutating: true,
  decode(p) {
    if (optString(p, 'DBClusterSnapshotIdentifier') !== undefined) throw new InvalidParameterCombination('rekey has no DB clusters: restore from a DBSnapshotIdentifier.');
    if (optBool(p, 'MultiAZ') === true) throw new InvalidParameterValue('rekey does not run Multi-AZ instances: MultiAZ must be false.');
    const engine = optString(p, 'Engine');
    if (engine !== undefined && engine !== 'postgres') throw new InvalidParameterValue(`Invalid DB engine: ${engine}. The snapshot's engine is kept (postgres).`);
    const cls = optString(p, 'DBInstanceClass');
    const port = optInt(p, 'Port');
    return {
      DBInstanceIdentifier: checkIdentifier(reqString(p, 'DBInstanceIdentifier')),
      DBSnapshotIdentifier: checkSnapshotId(reqString(p, 'DBSnapshotIdentifier')),
      ...(cls !== undefined ? { DBInstanceClass: checkInstanceClass(cls) } : {}),
      ...(port !== undefined ? { Port: checkPort(port) } : {}),
      DeletionProtection: optBool(p, 'DeletionProtection') ?? false,
      Tags: tagsOf(p) ?? [],
    };
  },
  resource: (r, env) => instanceArn(env.partition, env.region, env.accountId, r.DBInstanceIdentifier),
  async run(r, env, ctx) {
    const i = await env.db.restoreFromSnapshot({
      id: r.DBInstanceIdentifier, snapshotId: r.DBSnapshotIdentifier, deletionProtection: r.DeletionProtection, tags: fromWireTags(r.Tags),
      ...(r.DBInstanceClass !== undefined ? { instanceClass: r.DBInstanceClass } : {}), ...(r.Port !== undefined ? { port: r.Port } : {}),
    }, ctx);
    return { DBInstance: toWireInstance(i) };
  },
});
