// Snapshot data keys, as RDS uses the snapshot's KMS key: a 256-bit data key per snapshot file,
// wrapped under the key with the encryption context {"aws:rds:snapshot-id": <snapshot resource id>},
// stored (wrapped) in the snapshot record behind the barrier. rekey acts as the RDS service through
// a grant of its own per snapshot (rds-snap-<id>, limited to that context), so a snapshot stays
// readable after its instance and the instance's grant are gone. The snapshot is a dependent of
// its key (DisableKey / ScheduleKeyDeletion count it). Every generate and unwrap is recorded in the
// audit trail before it happens, as for volume keys (src/db/volume-key.ts).
import { randomBytes, zeroize } from '../../crypto/index.ts';
import { serviceEvent } from '../../audit/index.ts';
import { GRANT_OPERATIONS, rdsPrincipal, serviceIdentity, type KeyDeps } from '../volume-key.ts';
import { snapshotContext, type SnapshotRecord } from './model.ts';

const asService = (d: KeyDeps) => ({ caller: serviceIdentity(d.region, d.accountId), request: {}, viaService: rdsPrincipal(d.region) });

async function record(d: KeyDeps, eventName: string, keyArn: string, rec: Pick<SnapshotRecord, 'arn' | 'snapshotResourceId'>): Promise<void> {
  if (!d.audit) return;
  await d.audit.append(serviceEvent({
    service: 'kms', eventName, region: d.region, accountId: d.accountId, resources: [keyArn], now: d.clock(),
    details: { encryptionContext: JSON.stringify(snapshotContext(rec)), dbSnapshot: rec.arn, invokedBy: rdsPrincipal(d.region) },
  }));
}

/** The service's grant on the snapshot's key (idempotent by name) and the dependent registration. */
export async function claimKey(d: KeyDeps, rec: SnapshotRecord): Promise<string> {
  if (!rec.kmsKeyId || !rec.kmsKeyArn) throw new Error(`snapshot ${rec.id} is not encrypted`);
  const grantId = await d.kms.createServiceGrant(rec.kmsKeyId, {
    name: `rds-snap-${rec.snapshotResourceId}`, granteePrincipal: rdsPrincipal(d.region), retiringPrincipal: rdsPrincipal(d.region),
    operations: GRANT_OPERATIONS, contextSubset: snapshotContext(rec),
  });
  await d.kms.dependents.register(rec.kmsKeyArn, { type: 'db-snapshot', arn: rec.arn, name: rec.id });
  return grantId;
}

/** Retires the grant and the dependent registration (snapshot deleted, or its creation abandoned). */
export async function releaseKey(d: KeyDeps, rec: SnapshotRecord): Promise<void> {
  if (rec.kmsKeyId && rec.grantId) await d.kms.retireServiceGrant(rec.kmsKeyId, rec.grantId).catch(() => false);
  if (rec.kmsKeyArn) await d.kms.dependents.unregister(rec.kmsKeyArn, rec.arn).catch(() => false);
}

/** GenerateDataKey under the snapshot's key. The caller zeroes `plaintext`. */
export async function generateSnapshotKey(d: KeyDeps, rec: SnapshotRecord): Promise<{ plaintext: Buffer; wrapped: string }> {
  await record(d, 'GenerateDataKey', rec.kmsKeyArn!, rec);
  const plaintext = randomBytes(32);
  try {
    const { blob } = await d.kms.encryptInternal(rec.kmsKeyArn!, plaintext, snapshotContext(rec), asService(d));
    return { plaintext, wrapped: blob.toString('base64') };
  } catch (e) {
    zeroize(plaintext);
    throw e;
  }
}

/** Decrypt of the snapshot's data key (the caller zeroes it). KMS's errors when the key is disabled, pending deletion or gone. */
export async function unwrapSnapshotKey(d: KeyDeps, rec: SnapshotRecord): Promise<Buffer> {
  if (!rec.wrappedKey || !rec.kmsKeyArn) throw new Error(`snapshot ${rec.id} has no data key`);
  await record(d, 'Decrypt', rec.kmsKeyArn, rec);
  const { plaintext } = await d.kms.decryptInternal(Buffer.from(rec.wrappedKey, 'base64'), snapshotContext(rec), asService(d));
  return plaintext;
}
