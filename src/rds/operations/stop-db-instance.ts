// StopDBInstance: the state checks (InvalidDBInstanceState) are the DbService's. DBSnapshotIdentifier
// (a snapshot before stopping) is refused: rekey has no snapshots yet.
import { InvalidParameterValue } from '../../errors.ts';
import { defineOperation } from '../operation.ts';
import { instanceArn, toWireInstance } from '../wire.ts';
import { decodeInstanceRequest, type InstanceRequest } from './instance-request.ts';

export const stopDBInstance = defineOperation<InstanceRequest>({
  name: 'StopDBInstance',
  mutating: true,
  decode(p) {
    if (p.has('DBSnapshotIdentifier')) throw new InvalidParameterValue('rekey does not support DBSnapshotIdentifier on StopDBInstance: take the snapshot with CreateDBSnapshot before stopping.');
    return decodeInstanceRequest(p);
  },
  resource: (r, env) => instanceArn(env.partition, env.region, env.accountId, r.DBInstanceIdentifier),
  run: async (r, env, ctx) => ({ DBInstance: toWireInstance(await env.db.stop(r.DBInstanceIdentifier, ctx)) }),
});
