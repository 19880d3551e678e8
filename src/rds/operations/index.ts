// The RDS operations rekey serves, by Query Action name.
import type { AnyRdsOperation } from '../operation.ts';
import { createDBInstance } from './create-db-instance.ts';
import { describeDBInstances } from './describe-db-instances.ts';
import { modifyDBInstance } from './modify-db-instance.ts';
import { stopDBInstance } from './stop-db-instance.ts';
import { startDBInstance } from './start-db-instance.ts';
import { rebootDBInstance } from './reboot-db-instance.ts';
import { deleteDBInstance } from './delete-db-instance.ts';
import { describeDBEngineVersions } from './describe-db-engine-versions.ts';
import { addTagsToResource, listTagsForResource, removeTagsFromResource } from './tags.ts';
import { createDBSnapshot } from './create-db-snapshot.ts';
import { describeDBSnapshots } from './describe-db-snapshots.ts';
import { deleteDBSnapshot } from './delete-db-snapshot.ts';
import { copyDBSnapshot } from './copy-db-snapshot.ts';
import { restoreDBInstanceFromDBSnapshot } from './restore-db-instance-from-db-snapshot.ts';
import { createDBInstanceReadReplica } from './create-db-instance-read-replica.ts';
import { promoteReadReplica } from './promote-read-replica.ts';

/** A Map, so that "constructor" or "__proto__" as an Action finds nothing. */
export const RDS_OPERATION_TABLE: ReadonlyMap<string, AnyRdsOperation> = new Map(
  [
    createDBInstance, describeDBInstances, modifyDBInstance, stopDBInstance, startDBInstance, rebootDBInstance, deleteDBInstance,
    describeDBEngineVersions, addTagsToResource, listTagsForResource, removeTagsFromResource,
    createDBSnapshot, describeDBSnapshots, deleteDBSnapshot, copyDBSnapshot, restoreDBInstanceFromDBSnapshot,
    createDBInstanceReadReplica, promoteReadReplica,
  ].map((op): [string, AnyRdsOperation] => [op.name, op]),
);
