// Service-managed keys, rekey's counterpart of AWS managed keys: the key behind `alias/aws/<service>`.
//
// AWS KMS (DescribeKey): "If you call the DescribeKey operation on a predefined AWS alias, that is,
// an AWS alias with no key ID, KMS creates an AWS managed key. Then, it associates the alias with
// the new KMS key." rekey does the same for every operation that accepts an alias (Encrypt,
// GenerateDataKey*, ReEncrypt, Decrypt's KeyId, DescribeKey), and for other rekey components through
// KmsService.serviceKey(service).
//
// AWS KMS: "AWS managed keys ... are automatically rotated every year (approximately 365 days)";
// "Key material rotation of AWS managed KMS keys is not configurable"; "You cannot enable or disable
// AWS managed keys"; you cannot change their key policies, delete them, or use alias/aws/ names.
// In AWS those refusals come from the key policy of an AWS managed key, which lets account
// principals use and read the key but not manage it: through the AWS API a customer gets
// AccessDeniedException. rekey gives the key the same shape of policy (so the same
// AccessDeniedException), and refuses management again in the operations themselves, with
// UnsupportedOperationException "<arn> is an AWS managed key", for callers that are not subject
// to key policies (the admin API, in-process components).
import { randomUUID, zeroize } from '../../crypto/index.ts';
import { UnsupportedOperationException, ValidationException } from '../../errors.ts';
import { CasConflict, type Op } from '../../storage/backend.ts';
import { Barrier } from '../../storage/barrier.ts';
import { keyArn, type Scope } from '../ids.ts';
import { aliasPath, keyPath, type KeyStore } from '../keystore.ts';
import { newKeyMaterial } from '../material.ts';
import { KeyState, type AliasRecord, type KeyRecord } from '../model.ts';
import type { ManagedOperation } from './hooks.ts';
import { indexMoveOps, lifecycleIndexPaths } from './paths.ts';
import { DAY_MS } from './rotate.ts';

export const SERVICE_ALIAS_PREFIX = 'alias/aws/';
/** AWS KMS: AWS managed keys rotate every year; rekey counts a year as 365 days. */
export const SERVICE_KEY_ROTATION_DAYS = 365;

/**
 * The predefined aliases (ListAliases in a new AWS account lists these without a TargetKeyId until
 * a service first uses them). Any other alias/aws/ name does not exist: NotFoundException.
 */
export const SERVICE_NAMES: readonly string[] = Object.freeze([
  'acm', 'backup', 'cloud9', 'codeartifact', 'codecommit', 'connect', 'dms', 'dynamodb', 'ebs', 'elasticfilesystem', 'es',
  'fsx', 'glue', 'kinesis', 'kinesisvideo', 'lambda', 'lightsail', 'rds', 'redshift', 's3', 'secretsmanager', 'sns', 'sqs',
  'ssm', 'timestream', 'xray',
]);

/** `alias/aws/<service>` for a predefined service, else null. */
export function serviceOfAlias(aliasName: string): string | null {
  if (!aliasName.startsWith(SERVICE_ALIAS_PREFIX)) return null;
  const service = aliasName.slice(SERVICE_ALIAS_PREFIX.length);
  return SERVICE_NAMES.includes(service) ? service : null;
}

/**
 * The key policy of an AWS managed key, without the kms:ViaService condition (rekey has no
 * "request made through service X" for AWS API callers): account principals may use the key and
 * read its metadata; nobody may manage it.
 */
export function serviceKeyPolicy(scope: Scope, service: string): string {
  const root = `arn:${scope.partition}:iam::${scope.accountId}:root`;
  return JSON.stringify({
    Version: '2012-10-17',
    Id: `auto-${service}-1`,
    Statement: [
      {
        Sid: `Allow access through ${service} for all principals in the account that are authorized to use ${service}`,
        Effect: 'Allow', Principal: { AWS: root },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:DescribeKey'],
        Resource: '*',
      },
      {
        Sid: 'Allow direct access to key metadata to the account',
        Effect: 'Allow', Principal: { AWS: root },
        Action: ['kms:Describe*', 'kms:Get*', 'kms:List*', 'kms:RevokeGrant'],
        Resource: '*',
      },
    ],
  }, null, 2);
}

export function newServiceKeyRecord(scope: Scope, service: string, now: number): KeyRecord {
  const keyId = randomUUID();
  const material = newKeyMaterial(now, null);
  return {
    v: 1, keyId, arn: keyArn(scope, keyId), accountId: scope.accountId, region: scope.region,
    description: `Default key that protects my ${service} data when no other key is defined`,
    state: KeyState.Enabled, keyUsage: 'ENCRYPT_DECRYPT', keySpec: 'SYMMETRIC_DEFAULT', origin: 'AWS_KMS', multiRegion: false,
    creationDate: now, deletionDate: null, pendingWindowInDays: null,
    policy: serviceKeyPolicy(scope, service), tags: [], aliases: [`${SERVICE_ALIAS_PREFIX}${service}`],
    rotation: { enabled: true, periodDays: SERVICE_KEY_ROTATION_DAYS, nextRotationDate: now + SERVICE_KEY_ROTATION_DAYS * DAY_MS, onDemandCount: 0, onDemandStartDate: null },
    materials: [material], currentMaterialId: material.id, keyManager: 'AWS',
  };
}

const VERBS: Record<ManagedOperation, string> = {
  DisableKey: 'disable',
  ScheduleKeyDeletion: 'schedule the deletion of',
  PutKeyPolicy: 'change the key policy of',
  RotateKeyOnDemand: 'rotate on demand',
  EnableKeyRotation: 'change the rotation of',
  DisableKeyRotation: 'change the rotation of',
  CreateAlias: 'create an alias for',
  UpdateAlias: 'point an alias at',
};

/** UnsupportedOperationException for management of an AWS managed key. */
export function requireCustomerManaged(rec: Pick<KeyRecord, 'arn' | 'keyManager'>, operation: ManagedOperation): void {
  if (rec.keyManager !== 'AWS') return;
  throw new UnsupportedOperationException(`${rec.arn} is an AWS managed key. You cannot ${VERBS[operation]} an AWS managed key.`);
}

export class ServiceKeys {
  constructor(
    private readonly barrier: Barrier,
    private readonly store: KeyStore,
    private readonly scope: Scope,
    private readonly clock: () => Date,
  ) {}

  /**
   * The key id behind alias/aws/<service>, created (key, alias and due-index entry in one
   * transaction) when it does not exist yet. Of several nodes creating it at once, one transaction
   * lands (the alias is written with expectVersion 0) and the others read its result.
   */
  async ensure(service: string): Promise<string> {
    if (!SERVICE_NAMES.includes(service)) throw new ValidationException(`${service} is not a service with an AWS managed key. Known services: ${SERVICE_NAMES.join(', ')}.`);
    const name = SERVICE_ALIAS_PREFIX + service;
    for (let attempt = 0; ; attempt++) {
      const existing = await this.store.readAlias(name);
      if (existing) return existing.value.targetKeyId;
      const now = this.clock().getTime();
      const rec = newServiceKeyRecord(this.scope, service, now);
      const alias: AliasRecord = { v: 1, aliasName: name, targetKeyId: rec.keyId, creationDate: now, lastUpdatedDate: now };
      const ops: Op[] = [Barrier.putOp(keyPath(rec.keyId), rec, 0), Barrier.putOp(aliasPath(name), alias, 0), ...indexMoveOps([], lifecycleIndexPaths(rec))];
      for (const m of rec.materials) m.material = '';
      try {
        await this.barrier.transaction(ops);
        return rec.keyId;
      } catch (e) {
        if (!(e instanceof CasConflict) || attempt >= 3) throw e;
      } finally {
        for (const op of ops) if (op.type === 'put') zeroize(op.value);
        this.store.invalidateAlias(name);
      }
    }
  }
}
