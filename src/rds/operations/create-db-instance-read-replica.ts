// CreateDBInstanceReadReplica (RDS API Reference; request shape botocore
// CreateDBInstanceReadReplicaMessage). Unlike RDS, KmsKeyId may name any key: the replica gets its
// own volume key wrapped under it (RDS: "If you don't specify a value for this parameter, the read
// replica is encrypted with the same KMS key as the source DB instance" — rekey does the same when
// it is absent). Same region only (SourceRegion / PreSignedUrl refused), no clusters, no Multi-AZ;
// other parameters are accepted and ignored. The source may be named by identifier or ARN.
import { InvalidParameterCombination, InvalidParameterValue, MissingParameter } from '../../errors.ts';
import { defineOperation } from '../operation.ts';
import { checkIdentifier, checkInstanceClass, checkPort, optBool, optInt, optString, reqString, tagsOf } from '../validate.ts';
import { fromWireTags, instanceArn, toWireInstance, type WireTag } from '../wire.ts';
import { idOrArn } from './describe-db-instances.ts';

export interface CreateDBInstanceReadReplicaRequest {
  DBInstanceIdentifier: string;
  SourceDBInstanceIdentifier: string;
  DBInstanceClass?: string;
  Port?: number;
  KmsKeyId?: string;
  DeletionProtection: boolean;
  Tags: WireTag[];
}

export const createDBInstanceReadReplica = defineOperation<CreateDBInstanceReadReplicaRequest>({
  name: 'CreateDBInstanceReadReplica',
  mutating: true,
  decode(p) {
    const id = checkIdentifier(reqString(p, 'DBInstanceIdentifier'));
    if (optString(p, 'SourceDBClusterIdentifier') !== undefined) throw new InvalidParameterCombination('rekey does not support DB clusters (SourceDBClusterIdentifier).');
    const source = optString(p, 'SourceDBInstanceIdentifier');
    if (source === undefined || source === '') throw new MissingParameter('The request must contain the parameter SourceDBInstanceIdentifier');
    if (optString(p, 'SourceRegion') !== undefined || optString(p, 'PreSignedUrl') !== undefined) {
      throw new InvalidParameterCombination('rekey makes read replicas in its own region only (SourceRegion and PreSignedUrl are not supported).');
    }
    if (optBool(p, 'MultiAZ') === true) throw new InvalidParameterValue('rekey does not run Multi-AZ instances: MultiAZ must be false.');
    const replicaMode = optString(p, 'ReplicaMode');
    if (replicaMode !== undefined && replicaMode !== 'open-read-only') throw new InvalidParameterValue(`ReplicaMode ${replicaMode.slice(0, 32)} is not supported: rekey's PostgreSQL replicas are open-read-only.`);
    const cls = optString(p, 'DBInstanceClass');
    const port = optInt(p, 'Port');
    const kmsKeyId = optString(p, 'KmsKeyId');
    if (kmsKeyId === '') throw new InvalidParameterValue('The parameter KmsKeyId must not be empty.');
    return {
      DBInstanceIdentifier: id, SourceDBInstanceIdentifier: idOrArn(source, 'SourceDBInstanceIdentifier'),
      DeletionProtection: optBool(p, 'DeletionProtection') ?? false, Tags: tagsOf(p) ?? [],
      ...(cls !== undefined ? { DBInstanceClass: checkInstanceClass(cls) } : {}),
      ...(port !== undefined ? { Port: checkPort(port) } : {}),
      ...(kmsKeyId !== undefined ? { KmsKeyId: kmsKeyId } : {}),
    };
  },
  resource: (r, env) => instanceArn(env.partition, env.region, env.accountId, r.DBInstanceIdentifier),
  async run(r, env, ctx) {
    const created = await env.db.createReadReplica({
      id: r.DBInstanceIdentifier, sourceId: r.SourceDBInstanceIdentifier, deletionProtection: r.DeletionProtection, tags: fromWireTags(r.Tags),
      ...(r.DBInstanceClass !== undefined ? { instanceClass: r.DBInstanceClass } : {}),
      ...(r.Port !== undefined ? { port: r.Port } : {}),
      ...(r.KmsKeyId !== undefined ? { kmsKeyId: r.KmsKeyId } : {}),
    }, ctx);
    return { DBInstance: toWireInstance(created) };
  },
});
