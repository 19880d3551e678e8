// RebootDBInstance: the state and key checks are the DbService's (a reboot with a disabled key ends in
// inaccessible-encryption-credentials). ForceFailover is refused: instances are not Multi-AZ.
import { InvalidParameterValue } from '../../errors.ts';
import { defineOperation } from '../operation.ts';
import { optBool } from '../validate.ts';
import { instanceArn, toWireInstance } from '../wire.ts';
import { decodeInstanceRequest, type InstanceRequest } from './instance-request.ts';

export const rebootDBInstance = defineOperation<InstanceRequest>({
  name: 'RebootDBInstance',
  mutating: true,
  decode(p) {
    if (optBool(p, 'ForceFailover') === true) throw new InvalidParameterValue('rekey does not support ForceFailover (instances are not Multi-AZ).');
    return decodeInstanceRequest(p);
  },
  resource: (r, env) => instanceArn(env.partition, env.region, env.accountId, r.DBInstanceIdentifier),
  run: async (r, env, ctx) => ({ DBInstance: toWireInstance(await env.db.reboot(r.DBInstanceIdentifier, ctx)) }),
});
