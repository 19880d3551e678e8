// DeleteDBSnapshot: the snapshot (its file, key grant and record) goes; the response shows it `deleting`.
import { defineOperation } from '../operation.ts';
import { reqString } from '../validate.ts';
import { snapshotArn, snapshotRef, toWireSnapshot } from '../snapshot-wire.ts';
import { DBSnapshotNotFoundFault } from '../../errors.ts';

export interface DeleteDBSnapshotRequest {
  DBSnapshotIdentifier: string;
  DBSnapshotArn?: string;
}

export const deleteDBSnapshot = defineOperation<DeleteDBSnapshotRequest>({
  name: 'DeleteDBSnapshot',
  mutating: true,
  decode(p) {
    const ref = snapshotRef(reqString(p, 'DBSnapshotIdentifier'), 'DBSnapshotIdentifier');
    return { DBSnapshotIdentifier: ref.id, ...(ref.arn ? { DBSnapshotArn: ref.arn } : {}) };
  },
  resource: (r, env) => r.DBSnapshotArn ?? snapshotArn(env.partition, env.region, env.accountId, r.DBSnapshotIdentifier),
  async run(r, env, ctx) {
    if (r.DBSnapshotArn && r.DBSnapshotArn !== snapshotArn(env.partition, env.region, env.accountId, r.DBSnapshotIdentifier)) {
      throw new DBSnapshotNotFoundFault(`DBSnapshot ${r.DBSnapshotArn} not found.`);
    }
    return { DBSnapshot: toWireSnapshot(await env.db.deleteSnapshot(r.DBSnapshotIdentifier, ctx), env.region) };
  },
});
