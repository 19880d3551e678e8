// StartDBInstance: the state and key checks (InvalidDBInstanceState, KMSKeyNotAccessibleFault) are the DbService's.
import { defineOperation } from '../operation.ts';
import { instanceArn, toWireInstance } from '../wire.ts';
import { decodeInstanceRequest, type InstanceRequest } from './instance-request.ts';

export const startDBInstance = defineOperation<InstanceRequest>({
  name: 'StartDBInstance',
  mutating: true,
  decode: decodeInstanceRequest,
  resource: (r, env) => instanceArn(env.partition, env.region, env.accountId, r.DBInstanceIdentifier),
  run: async (r, env, ctx) => ({ DBInstance: toWireInstance(await env.db.start(r.DBInstanceIdentifier, ctx)) }),
});
