// CreateDBSnapshot: a manual snapshot of an available instance (src/db/snapshots). RDS authorizes
// the action on the instance and the snapshot; rekey checks the snapshot's ARN (the new resource).
import { defineOperation } from '../operation.ts';
import { checkIdentifier, reqString, tagsOf } from '../validate.ts';
import { fromWireTags, type WireTag } from '../wire.ts';
import { checkSnapshotId, snapshotArn, toWireSnapshot } from '../snapshot-wire.ts';

export interface CreateDBSnapshotRequest {
  DBSnapshotIdentifier: string;
  DBInstanceIdentifier: string;
  Tags: WireTag[];
}

export const createDBSnapshot = defineOperation<CreateDBSnapshotRequest>({
  name: 'CreateDBSnapshot',
  mutating: true,
  decode(p) {
    return {
      DBSnapshotIdentifier: checkSnapshotId(reqString(p, 'DBSnapshotIdentifier')),
      DBInstanceIdentifier: checkIdentifier(reqString(p, 'DBInstanceIdentifier')),
      Tags: tagsOf(p) ?? [],
    };
  },
  resource: (r, env) => snapshotArn(env.partition, env.region, env.accountId, r.DBSnapshotIdentifier),
  async run(r, env, ctx) {
    const s = await env.db.createSnapshot({ id: r.DBSnapshotIdentifier, instanceId: r.DBInstanceIdentifier, tags: fromWireTags(r.Tags) }, ctx);
    return { DBSnapshot: toWireSnapshot(s, env.region) };
  },
});
