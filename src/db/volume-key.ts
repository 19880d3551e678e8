// Volume keys under KMS, as Amazon RDS uses its key: a 256-bit data key per instance, wrapped under
// the instance's KMS key with the encryption context {"aws:rds:db-id": <DbiResourceId>}; the wrapped
// key is stored with the instance record (behind the barrier). rekey acts as the RDS service
// principal (rds.<region>.amazonaws.com) through the grant it created on the key when the instance
// was created (CreateDBInstance: src/db/create.ts). Every generate, unlock and re-wrap is recorded
// in the audit trail as a kms.amazonaws.com event BEFORE it happens: when the event cannot be
// recorded, the key is not used.
import { randomBytes, zeroize } from '../crypto/index.ts';
import type { AuditLog } from '../audit/index.ts';
import { serviceEvent } from '../audit/index.ts';
import type { Identity } from '../iam/identity.ts';
import type { KmsService, OnBehalf } from '../kms/service.ts';
import { parseCiphertext } from '../kms/ciphertext.ts';
import { volumeContext, type InstanceRecord } from './model.ts';

export const VOLUME_KEY_BYTES = 32;
/** RDS's grant operations on a storage key (as ListGrants shows them for an RDS instance). */
export const GRANT_OPERATIONS = ['Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'CreateGrant', 'RetireGrant', 'DescribeKey'];

export const rdsPrincipal = (region: string): string => `rds.${region}.amazonaws.com`;

/** The RDS service itself as a KMS caller: no policies of its own; its grants authorize it. */
export function serviceIdentity(region: string, accountId: string): Identity {
  return { accountId, arn: rdsPrincipal(region), accessKeyId: '', type: 'AssumedRole', principalId: `AWSService:${rdsPrincipal(region)}`, identityPolicies: [] } as Identity;
}

export interface KeyDeps {
  kms: KmsService;
  audit?: AuditLog;
  region: string;
  accountId: string;
  clock: () => Date;
}

function asService(d: KeyDeps): OnBehalf {
  return { caller: serviceIdentity(d.region, d.accountId), request: {}, viaService: rdsPrincipal(d.region) };
}

async function record(d: KeyDeps, eventName: string, keyArn: string, rec: Pick<InstanceRecord, 'arn' | 'resourceId'>, extra: Record<string, string> = {}): Promise<void> {
  if (!d.audit) return;
  await d.audit.append(serviceEvent({
    service: 'kms', eventName, region: d.region, accountId: d.accountId, resources: [keyArn], now: d.clock(),
    details: { encryptionContext: JSON.stringify(volumeContext(rec)), dbInstance: rec.arn, invokedBy: rdsPrincipal(d.region), ...extra },
  }));
}

/** GenerateDataKey: a fresh volume key and its wrapped form. The caller zeroes `plaintext`. */
export async function generateVolumeKey(d: KeyDeps, keyArn: string, rec: Pick<InstanceRecord, 'arn' | 'resourceId'>): Promise<{ plaintext: Buffer; wrapped: Buffer; materialId: string }> {
  await record(d, 'GenerateDataKey', keyArn, rec);
  const plaintext = randomBytes(VOLUME_KEY_BYTES);
  try {
    const { blob } = await d.kms.encryptInternal(keyArn, plaintext, volumeContext(rec), asService(d));
    return { plaintext, wrapped: blob, materialId: parseCiphertext(blob).materialId };
  } catch (e) {
    zeroize(plaintext);
    throw e;
  }
}

/** Decrypt: the volume key of an instance (the caller zeroes it). Throws DisabledException / KMSInvalidStateException / NotFoundException as KMS would. */
export async function unwrapVolumeKey(d: KeyDeps, rec: InstanceRecord): Promise<Buffer> {
  if (!rec.wrappedVolumeKey || !rec.kmsKeyArn) throw new Error(`instance ${rec.id} has no volume key`);
  await record(d, 'Decrypt', rec.kmsKeyArn, rec);
  const { plaintext } = await d.kms.decryptInternal(Buffer.from(rec.wrappedVolumeKey, 'base64'), volumeContext(rec), asService(d));
  return plaintext;
}

/** The material a wrapped key was made with (to see whether a rotation left it behind). */
export function wrappedMaterialId(rec: Pick<InstanceRecord, 'wrappedVolumeKey'>): string | null {
  return rec.wrappedVolumeKey ? parseCiphertext(Buffer.from(rec.wrappedVolumeKey, 'base64')).materialId : null;
}

/** ReEncrypt to the key's current material (the volume password, and so the volume, is unchanged). */
export async function rewrapVolumeKey(d: KeyDeps, rec: InstanceRecord): Promise<string> {
  if (!rec.kmsKeyArn) throw new Error(`instance ${rec.id} is not encrypted`);
  await record(d, 'ReEncrypt', rec.kmsKeyArn, rec);
  const plaintext = await d.kms.decryptInternal(Buffer.from(rec.wrappedVolumeKey ?? '', 'base64'), volumeContext(rec), asService(d)).then((r) => r.plaintext);
  try {
    const { blob } = await d.kms.encryptInternal(rec.kmsKeyArn, plaintext, volumeContext(rec), asService(d));
    return blob.toString('base64');
  } finally {
    zeroize(plaintext);
  }
}
