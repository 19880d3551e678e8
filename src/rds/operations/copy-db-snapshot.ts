// CopyDBSnapshot within the region. Without KmsKeyId the copy is under the source's key (an
// unencrypted source gives an unencrypted copy); with KmsKeyId the copy is encrypted under that key,
// also from an unencrypted source, as RDS does. The data is read through the source's authenticated
// stream and sealed under a fresh data key of the target's key: never plaintext on disk.
// Cross-region copies (SourceRegion, PreSignedUrl) and option groups are refused.
import { DBSnapshotNotFoundFault, InvalidParameterValue } from '../../errors.ts';
import { defineOperation } from '../operation.ts';
import { optBool, optString, reqString, tagsOf } from '../validate.ts';
import { fromWireTags, type WireTag } from '../wire.ts';
import { checkSnapshotId, snapshotArn, snapshotRef, toWireSnapshot } from '../snapshot-wire.ts';

export interface CopyDBSnapshotRequest {
  SourceDBSnapshotIdentifier: string;
  SourceDBSnapshotArn?: string;
  TargetDBSnapshotIdentifier: string;
  KmsKeyId?: string;
  CopyTags: boolean;
  Tags: WireTag[];
}

export const copyDBSnapshot = defineOperation<CopyDBSnapshotRequest>({
  name: 'CopyDBSnapshot',
  mutating: true,
  decode(p) {
    for (const name of ['SourceRegion', 'PreSignedUrl', 'OptionGroupName', 'TargetCustomAvailabilityZone']) {
      if (optString(p, name) !== undefined) throw new InvalidParameterValue(`rekey copies snapshots within its region only: ${name} is not supported.`);
    }
    const src = snapshotRef(reqString(p, 'SourceDBSnapshotIdentifier'), 'SourceDBSnapshotIdentifier');
    const key = optString(p, 'KmsKeyId');
    if (key !== undefined && (key.length < 1 || key.length > 2048)) throw new InvalidParameterValue('The parameter KmsKeyId must be between 1 and 2048 characters.');
    return {
      SourceDBSnapshotIdentifier: src.id, ...(src.arn ? { SourceDBSnapshotArn: src.arn } : {}),
      TargetDBSnapshotIdentifier: checkSnapshotId(reqString(p, 'TargetDBSnapshotIdentifier'), 'TargetDBSnapshotIdentifier'),
      ...(key !== undefined ? { KmsKeyId: key } : {}),
      CopyTags: optBool(p, 'CopyTags') ?? false, Tags: tagsOf(p) ?? [],
    };
  },
  resource: (r, env) => snapshotArn(env.partition, env.region, env.accountId, r.TargetDBSnapshotIdentifier),
  async run(r, env, ctx) {
    if (r.SourceDBSnapshotArn && r.SourceDBSnapshotArn !== snapshotArn(env.partition, env.region, env.accountId, r.SourceDBSnapshotIdentifier)) {
      throw new DBSnapshotNotFoundFault(`DBSnapshot ${r.SourceDBSnapshotArn} not found.`);
    }
    const s = await env.db.copySnapshot({
      sourceId: r.SourceDBSnapshotIdentifier, targetId: r.TargetDBSnapshotIdentifier, copyTags: r.CopyTags, tags: fromWireTags(r.Tags),
      ...(r.KmsKeyId !== undefined ? { kmsKeyId: r.KmsKeyId } : {}),
    }, ctx);
    return { DBSnapshot: toWireSnapshot(s, env.region) };
  },
});
