// DeleteDBInstance. RDS: "The FinalDBSnapshotIdentifier parameter must be specified if
// SkipFinalSnapshot is disabled", and specifying both is an InvalidParameterCombination; the
// snapshot identifier follows the instance identifier's rules. DeletionProtection and the
// instance's status are the DbService's to check.
import { defineOperation } from '../operation.ts';
import { checkIdentifier, combination, optBool, optString, reqString } from '../validate.ts';
import { instanceArn, toWireInstance } from '../wire.ts';

export interface DeleteDBInstanceRequest {
  DBInstanceIdentifier: string;
  SkipFinalSnapshot: boolean;
  FinalDBSnapshotIdentifier?: string;
  DeleteAutomatedBackups: boolean;
}

export const deleteDBInstance = defineOperation<DeleteDBInstanceRequest>({
  name: 'DeleteDBInstance',
  mutating: true,
  decode(p) {
    const id = checkIdentifier(reqString(p, 'DBInstanceIdentifier'));
    const skip = optBool(p, 'SkipFinalSnapshot') ?? false;
    const final = optString(p, 'FinalDBSnapshotIdentifier');
    if (skip && final !== undefined) combination('Cannot specify both SkipFinalSnapshot and FinalDBSnapshotIdentifier.');
    if (!skip && final === undefined) combination('FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
    return {
      DBInstanceIdentifier: id, SkipFinalSnapshot: skip, DeleteAutomatedBackups: optBool(p, 'DeleteAutomatedBackups') ?? true,
      ...(final !== undefined ? { FinalDBSnapshotIdentifier: checkIdentifier(final, 'FinalDBSnapshotIdentifier') } : {}),
    };
  },
  resource: (r, env) => instanceArn(env.partition, env.region, env.accountId, r.DBInstanceIdentifier),
  async run(r, env, ctx) {
    const deleted = await env.db.delete({
      id: r.DBInstanceIdentifier, skipFinalSnapshot: r.SkipFinalSnapshot, deleteAutomatedBackups: r.DeleteAutomatedBackups,
      ...(r.FinalDBSnapshotIdentifier !== undefined ? { finalDbSnapshotIdentifier: r.FinalDBSnapshotIdentifier } : {}),
    }, ctx);
    return { DBInstance: toWireInstance(deleted) };
  },
});
