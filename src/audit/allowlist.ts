// What of a request and a response may enter the audit trail, per operation. An ALLOWLIST, never a
// denylist: a member is recorded only when it is named here with its expected shape, so a field
// added to an API tomorrow (or a Plaintext smuggled under a new name) stays out of the trail until
// someone decides it belongs there. Blobs (Plaintext, CiphertextBlob, data keys, SecretString,
// SecretBinary, passwords, grant tokens, key material, import tokens, messages, signatures, MACs)
// are therefore absent from every table below, and the shapes only admit JSON scalars, so even a
// misnamed member holding a Buffer cannot be copied.
//
// Names are the wire's PascalCase; the sanitizer writes CloudTrail's camelCase by lowering the first
// letter, exactly as CloudTrail does ("AWSAccountId" -> "aWSAccountId", "KeyId" -> "keyId").

export type Shape =
  | 'string' | 'number' | 'boolean'
  /** string -> string map with a bounded size: encryption contexts. */
  | 'stringMap'
  | 'stringList'
  /** AWS tags: [{TagKey, TagValue}] */
  | 'tags'
  /** Secrets Manager tags: [{Key, Value}] */
  | 'keyValueTags'
  /** Epoch seconds (wire) or Date; recorded as an ISO string. */
  | 'time'
  | { readonly [member: string]: Shape };

export interface OperationSpec {
  readonly request: { readonly [member: string]: Shape };
  /** Members of the response worth recording; absent -> responseElements is null (CloudTrail does this for crypto ops). */
  readonly response?: { readonly [member: string]: Shape };
  /** Describe/List/Get* and data-plane crypto calls change nothing (CloudTrail marks them readOnly). */
  readonly readOnly?: boolean;
}

const KEY = { KeyId: 'string' } as const;
const PAGE = { Limit: 'number', Marker: 'string' } as const;
const KEY_METADATA: Shape = {
  AWSAccountId: 'string', KeyId: 'string', Arn: 'string', CreationDate: 'time', Enabled: 'boolean',
  Description: 'string', KeyUsage: 'string', KeyState: 'string', DeletionDate: 'time', ValidTo: 'time',
  Origin: 'string', ExpirationModel: 'string', KeyManager: 'string', CustomerMasterKeySpec: 'string',
  KeySpec: 'string', EncryptionAlgorithms: 'stringList', SigningAlgorithms: 'stringList',
  MacAlgorithms: 'stringList', MultiRegion: 'boolean', PendingDeletionWindowInDays: 'number',
};
const DATA_KEY = { KeyId: 'string', EncryptionContext: 'stringMap', KeySpec: 'string', NumberOfBytes: 'number' } as const;
const DATA_KEY_PAIR = { KeyId: 'string', EncryptionContext: 'stringMap', KeyPairSpec: 'string' } as const;
const GRANT_FILTER = { KeyId: 'string', GrantId: 'string', GranteePrincipal: 'string', RetiringPrincipal: 'string', ...PAGE } as const;

/** AWS KMS (TrentService). Source: the KMS API reference and CloudTrail's KMS event examples. */
export const KMS_OPERATIONS: Readonly<Record<string, OperationSpec>> = {
  // ---- data plane: CloudTrail records the key, context and algorithm; never the data.
  Encrypt: { request: { KeyId: 'string', EncryptionContext: 'stringMap', EncryptionAlgorithm: 'string' }, readOnly: true },
  Decrypt: { request: { KeyId: 'string', EncryptionContext: 'stringMap', EncryptionAlgorithm: 'string' }, readOnly: true },
  ReEncrypt: {
    request: {
      SourceKeyId: 'string', DestinationKeyId: 'string', SourceEncryptionContext: 'stringMap',
      DestinationEncryptionContext: 'stringMap', SourceEncryptionAlgorithm: 'string', DestinationEncryptionAlgorithm: 'string',
    },
    readOnly: true,
  },
  GenerateDataKey: { request: DATA_KEY, readOnly: true },
  GenerateDataKeyWithoutPlaintext: { request: DATA_KEY, readOnly: true },
  GenerateDataKeyPair: { request: DATA_KEY_PAIR, readOnly: true },
  GenerateDataKeyPairWithoutPlaintext: { request: DATA_KEY_PAIR, readOnly: true },
  GenerateRandom: { request: { NumberOfBytes: 'number', CustomKeyStoreId: 'string' }, readOnly: true },
  Sign: { request: { KeyId: 'string', SigningAlgorithm: 'string', MessageType: 'string' }, readOnly: true },
  Verify: { request: { KeyId: 'string', SigningAlgorithm: 'string', MessageType: 'string' }, readOnly: true },
  GenerateMac: { request: { KeyId: 'string', MacAlgorithm: 'string' }, readOnly: true },
  VerifyMac: { request: { KeyId: 'string', MacAlgorithm: 'string' }, readOnly: true },
  // ---- key lifecycle
  CreateKey: {
    request: {
      Description: 'string', KeyUsage: 'string', KeySpec: 'string', CustomerMasterKeySpec: 'string', Origin: 'string',
      BypassPolicyLockoutSafetyCheck: 'boolean', Tags: 'tags', MultiRegion: 'boolean', CustomKeyStoreId: 'string',
      Policy: 'string', XksKeyId: 'string',
    },
    response: { KeyMetadata: KEY_METADATA },
  },
  DescribeKey: { request: KEY, readOnly: true },
  ListKeys: { request: PAGE, readOnly: true },
  EnableKey: { request: KEY },
  DisableKey: { request: KEY },
  UpdateKeyDescription: { request: { KeyId: 'string', Description: 'string' } },
  ScheduleKeyDeletion: {
    request: { KeyId: 'string', PendingWindowInDays: 'number' },
    response: { KeyId: 'string', DeletionDate: 'time', KeyState: 'string', PendingWindowInDays: 'number' },
  },
  CancelKeyDeletion: { request: KEY, response: { KeyId: 'string' } },
  // ---- rotation
  EnableKeyRotation: { request: { KeyId: 'string', RotationPeriodInDays: 'number' } },
  DisableKeyRotation: { request: KEY },
  GetKeyRotationStatus: { request: KEY, readOnly: true },
  RotateKeyOnDemand: { request: KEY, response: { KeyId: 'string' } },
  ListKeyRotations: { request: { KeyId: 'string', ...PAGE }, readOnly: true },
  // ---- aliases
  CreateAlias: { request: { AliasName: 'string', TargetKeyId: 'string' } },
  UpdateAlias: { request: { AliasName: 'string', TargetKeyId: 'string' } },
  DeleteAlias: { request: { AliasName: 'string' } },
  ListAliases: { request: { KeyId: 'string', ...PAGE }, readOnly: true },
  // ---- policies, tags, grants
  GetKeyPolicy: { request: { KeyId: 'string', PolicyName: 'string' }, readOnly: true },
  PutKeyPolicy: { request: { KeyId: 'string', PolicyName: 'string', Policy: 'string', BypassPolicyLockoutSafetyCheck: 'boolean' } },
  ListKeyPolicies: { request: { KeyId: 'string', ...PAGE }, readOnly: true },
  TagResource: { request: { KeyId: 'string', Tags: 'tags' } },
  UntagResource: { request: { KeyId: 'string', TagKeys: 'stringList' } },
  ListResourceTags: { request: { KeyId: 'string', ...PAGE }, readOnly: true },
  CreateGrant: {
    request: {
      KeyId: 'string', GranteePrincipal: 'string', RetiringPrincipal: 'string', Operations: 'stringList', Name: 'string',
      Constraints: { EncryptionContextSubset: 'stringMap', EncryptionContextEquals: 'stringMap' },
    },
    // GrantToken is a bearer credential: only the id is recorded.
    response: { GrantId: 'string' },
  },
  ListGrants: { request: GRANT_FILTER, readOnly: true },
  ListRetirableGrants: { request: { RetiringPrincipal: 'string', ...PAGE }, readOnly: true },
  RetireGrant: { request: { KeyId: 'string', GrantId: 'string' } },
  RevokeGrant: { request: { KeyId: 'string', GrantId: 'string' } },
  // ---- asymmetric and imported keys (no message, signature, wrapped material or import token)
  GetPublicKey: { request: KEY, readOnly: true },
  GetParametersForImport: { request: { KeyId: 'string', WrappingAlgorithm: 'string', WrappingKeySpec: 'string' }, readOnly: true },
  ImportKeyMaterial: { request: { KeyId: 'string', ValidTo: 'time', ExpirationModel: 'string' } },
  DeleteImportedKeyMaterial: { request: KEY },
};

const SECRET = { SecretId: 'string' } as const;
const SECRET_REF = { ARN: 'string', Name: 'string', VersionId: 'string' } as const;

/** AWS Secrets Manager (secretsmanager). SecretString, SecretBinary and RandomPassword never appear. */
export const SECRETS_OPERATIONS: Readonly<Record<string, OperationSpec>> = {
  CreateSecret: {
    request: { Name: 'string', Description: 'string', KmsKeyId: 'string', ClientRequestToken: 'string', Tags: 'keyValueTags', ForceOverwriteReplicaSecret: 'boolean' },
    response: SECRET_REF,
  },
  GetSecretValue: { request: { SecretId: 'string', VersionId: 'string', VersionStage: 'string' }, readOnly: true },
  BatchGetSecretValue: { request: { SecretIdList: 'stringList', MaxResults: 'number', NextToken: 'string' }, readOnly: true },
  PutSecretValue: {
    request: { SecretId: 'string', ClientRequestToken: 'string', VersionStages: 'stringList' },
    response: { ...SECRET_REF, VersionStages: 'stringList' },
  },
  UpdateSecret: { request: { SecretId: 'string', Description: 'string', KmsKeyId: 'string', ClientRequestToken: 'string' }, response: SECRET_REF },
  DescribeSecret: { request: SECRET, readOnly: true },
  ListSecrets: { request: { MaxResults: 'number', NextToken: 'string', IncludePlannedDeletion: 'boolean', SortOrder: 'string', SortBy: 'string' }, readOnly: true },
  ListSecretVersionIds: { request: { SecretId: 'string', MaxResults: 'number', NextToken: 'string', IncludeDeprecated: 'boolean' }, readOnly: true },
  DeleteSecret: {
    request: { SecretId: 'string', RecoveryWindowInDays: 'number', ForceDeleteWithoutRecovery: 'boolean' },
    response: { ARN: 'string', Name: 'string', DeletionDate: 'time' },
  },
  RestoreSecret: { request: SECRET, response: { ARN: 'string', Name: 'string' } },
  RotateSecret: {
    request: {
      SecretId: 'string', ClientRequestToken: 'string', RotationLambdaARN: 'string', RotateImmediately: 'boolean',
      RotationRules: { AutomaticallyAfterDays: 'number', Duration: 'string', ScheduleExpression: 'string' },
    },
    response: SECRET_REF,
  },
  CancelRotateSecret: { request: SECRET, response: SECRET_REF },
  UpdateSecretVersionStage: { request: { SecretId: 'string', VersionStage: 'string', RemoveFromVersionId: 'string', MoveToVersionId: 'string' } },
  TagResource: { request: { SecretId: 'string', Tags: 'keyValueTags' } },
  UntagResource: { request: { SecretId: 'string', TagKeys: 'stringList' } },
  GetRandomPassword: {
    request: {
      PasswordLength: 'number', ExcludeCharacters: 'string', ExcludeNumbers: 'boolean', ExcludePunctuation: 'boolean',
      ExcludeUppercase: 'boolean', ExcludeLowercase: 'boolean', IncludeSpace: 'boolean', RequireEachIncludedType: 'boolean',
    },
    readOnly: true,
  },
  GetResourcePolicy: { request: SECRET, readOnly: true },
  PutResourcePolicy: { request: { SecretId: 'string', ResourcePolicy: 'string', BlockPublicPolicy: 'boolean' } },
  DeleteResourcePolicy: { request: SECRET },
  ValidateResourcePolicy: { request: SECRET, readOnly: true },
};

/** AWS STS. TokenCode (MFA code), secret access keys and session tokens never appear. */
export const STS_OPERATIONS: Readonly<Record<string, OperationSpec>> = {
  AssumeRole: {
    request: { RoleArn: 'string', RoleSessionName: 'string', DurationSeconds: 'number', SerialNumber: 'string', ExternalId: 'string' },
    // CloudTrail records the temporary key id and expiry, not the secret or the token.
    response: { AssumedRoleUser: { AssumedRoleId: 'string', Arn: 'string' }, Credentials: { AccessKeyId: 'string', Expiration: 'time' } },
  },
  GetSessionToken: { request: { DurationSeconds: 'number', SerialNumber: 'string' }, response: { Credentials: { AccessKeyId: 'string', Expiration: 'time' } } },
  GetCallerIdentity: { request: {}, readOnly: true },
};

const DB_INSTANCE = { DBInstanceIdentifier: 'string' } as const;
const DB_INSTANCE_RESPONSE: Shape = {
  DBInstance: {
    DBInstanceIdentifier: 'string', DBInstanceArn: 'string', DbiResourceId: 'string', DBInstanceStatus: 'string', Engine: 'string',
    EngineVersion: 'string', KmsKeyId: 'string', StorageEncrypted: 'boolean', DeletionProtection: 'boolean',
    MasterUserSecret: { SecretArn: 'string', SecretStatus: 'string', KmsKeyId: 'string' },
    ReadReplicaSourceDBInstanceIdentifier: 'string',
  },
};

const DB_SNAPSHOT_RESPONSE: Shape = {
  DBSnapshot: {
    DBSnapshotIdentifier: 'string', DBSnapshotArn: 'string', DBInstanceIdentifier: 'string', DbiResourceId: 'string', Status: 'string',
    Encrypted: 'boolean', KmsKeyId: 'string', SourceDBSnapshotIdentifier: 'string',
  },
};

/**
 * Amazon RDS (Query API; requests as src/rds decodes them). MasterUserPassword is never listed, so
 * it never reaches the trail; CloudTrail likewise records "masterUserPassword": "HIDDEN_DUE_TO_SECURITY_REASONS".
 */
export const RDS_OPERATIONS: Readonly<Record<string, OperationSpec>> = {
  CreateDBInstance: {
    request: {
      DBInstanceIdentifier: 'string', DBInstanceClass: 'string', Engine: 'string', EngineVersion: 'string', AllocatedStorage: 'number',
      MasterUsername: 'string', ManageMasterUserPassword: 'boolean', MasterUserSecretKmsKeyId: 'string', StorageEncrypted: 'boolean',
      KmsKeyId: 'string', DBName: 'string', Port: 'number', DeletionProtection: 'boolean', Tags: 'keyValueTags',
    },
    response: DB_INSTANCE_RESPONSE,
  },
  DescribeDBInstances: {
    request: { DBInstanceIdentifier: 'string', MaxRecords: 'number', Marker: 'string' },
    readOnly: true,
  },
  ModifyDBInstance: {
    request: {
      DBInstanceIdentifier: 'string', ManageMasterUserPassword: 'boolean', MasterUserSecretKmsKeyId: 'string',
      RotateMasterUserPassword: 'boolean', DeletionProtection: 'boolean', ApplyImmediately: 'boolean',
    },
    response: DB_INSTANCE_RESPONSE,
  },
  StopDBInstance: { request: DB_INSTANCE, response: DB_INSTANCE_RESPONSE },
  StartDBInstance: { request: DB_INSTANCE, response: DB_INSTANCE_RESPONSE },
  RebootDBInstance: { request: DB_INSTANCE, response: DB_INSTANCE_RESPONSE },
  DeleteDBInstance: {
    request: { DBInstanceIdentifier: 'string', SkipFinalSnapshot: 'boolean', FinalDBSnapshotIdentifier: 'string', DeleteAutomatedBackups: 'boolean' },
    response: DB_INSTANCE_RESPONSE,
  },
  DescribeDBEngineVersions: {
    request: { Engine: 'string', EngineVersion: 'string', DBParameterGroupFamily: 'string', DefaultOnly: 'boolean', MaxRecords: 'number', Marker: 'string' },
    readOnly: true,
  },
  AddTagsToResource: { request: { ResourceName: 'string', Tags: 'keyValueTags' } },
  ListTagsForResource: { request: { ResourceName: 'string' }, readOnly: true },
  RemoveTagsFromResource: { request: { ResourceName: 'string', TagKeys: 'stringList' } },
  // snapshots (issue 14)
  CreateDBSnapshot: { request: { DBSnapshotIdentifier: 'string', DBInstanceIdentifier: 'string', Tags: 'keyValueTags' }, response: DB_SNAPSHOT_RESPONSE },
  DescribeDBSnapshots: { request: { DBSnapshotIdentifier: 'string', DBInstanceIdentifier: 'string', SnapshotType: 'string', MaxRecords: 'number', Marker: 'string' }, readOnly: true },
  DeleteDBSnapshot: { request: { DBSnapshotIdentifier: 'string' }, response: DB_SNAPSHOT_RESPONSE },
  CopyDBSnapshot: {
    request: { SourceDBSnapshotIdentifier: 'string', TargetDBSnapshotIdentifier: 'string', KmsKeyId: 'string', CopyTags: 'boolean', Tags: 'keyValueTags' },
    response: DB_SNAPSHOT_RESPONSE,
  },
  RestoreDBInstanceFromDBSnapshot: {
    request: { DBInstanceIdentifier: 'string', DBSnapshotIdentifier: 'string', DBInstanceClass: 'string', Port: 'number', DeletionProtection: 'boolean', Tags: 'keyValueTags' },
    response: DB_INSTANCE_RESPONSE,
  },
  // read replicas (issue 14)
  CreateDBInstanceReadReplica: {
    request: { DBInstanceIdentifier: 'string', SourceDBInstanceIdentifier: 'string', DBInstanceClass: 'string', Port: 'number', KmsKeyId: 'string', DeletionProtection: 'boolean', Tags: 'keyValueTags' },
    response: DB_INSTANCE_RESPONSE,
  },
  PromoteReadReplica: { request: DB_INSTANCE, response: DB_INSTANCE_RESPONSE },
};

const MAX_STRING = 4096;
const MAX_ITEMS = 64;

export function lowerFirst(name: string): string {
  return name.length === 0 ? name : name[0]!.toLowerCase() + name.slice(1);
}

function clip(s: string): string {
  return s.length > MAX_STRING ? s.slice(0, MAX_STRING) + '...(truncated)' : s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const p = Object.getPrototypeOf(v) as unknown;
  return p === Object.prototype || p === null;
}

/**
 * Copies `value` as `shape` allows, or returns undefined when it does not fit. Only strings,
 * finite numbers and booleans are ever copied; Buffers, typed arrays and class instances are
 * rejected by the plain-object check before any member is read.
 */
export function sanitize(value: unknown, shape: Shape): unknown {
  switch (shape) {
    case 'string': return typeof value === 'string' ? clip(value) : undefined;
    case 'number': return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    case 'boolean': return typeof value === 'boolean' ? value : undefined;
    case 'time':
      if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
      if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000).toISOString();
      return typeof value === 'string' ? clip(value) : undefined;
    case 'stringList':
      return Array.isArray(value) ? value.slice(0, MAX_ITEMS).filter((x): x is string => typeof x === 'string').map(clip) : undefined;
    case 'stringMap': {
      if (!isPlainObject(value)) return undefined;
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(value).slice(0, MAX_ITEMS)) if (typeof v === 'string') out[clip(k)] = clip(v);
      return out;
    }
    case 'tags':
      if (!Array.isArray(value)) return undefined;
      return value.slice(0, MAX_ITEMS).filter(isPlainObject).map((t) => ({
        tagKey: typeof t.TagKey === 'string' ? clip(t.TagKey) : undefined,
        tagValue: typeof t.TagValue === 'string' ? clip(t.TagValue) : undefined,
      }));
    case 'keyValueTags':
      if (!Array.isArray(value)) return undefined;
      return value.slice(0, MAX_ITEMS).filter(isPlainObject).map((t) => ({
        key: typeof t.Key === 'string' ? clip(t.Key) : undefined,
        value: typeof t.Value === 'string' ? clip(t.Value) : undefined,
      }));
    default:
      return sanitizeMembers(value, shape);
  }
}

type Members = { readonly [member: string]: Shape };

/**
 * A member table as a list of [wire name, CloudTrail name, shape], made once per table, sorted by
 * CloudTrail name so the copies come out in canonical JSON order (src/audit/canonical.ts).
 */
const memberLists = new WeakMap<Members, readonly (readonly [string, string, Shape])[]>();

function memberList(members: Members): readonly (readonly [string, string, Shape])[] {
  let list = memberLists.get(members);
  if (list === undefined) {
    list = Object.entries(members).map(([name, shape]) => [name, lowerFirst(name), shape] as const).sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    memberLists.set(members, list);
  }
  return list;
}

/** Copies the allowlisted members of an object into CloudTrail's camelCase, or undefined. */
export function sanitizeMembers(value: unknown, members: Members): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, camel, shape] of memberList(members)) {
    if (!Object.prototype.hasOwnProperty.call(value, name)) continue;
    const v = sanitize(value[name], shape);
    if (v !== undefined) out[camel] = v;
  }
  return out;
}

/**
 * Strings in `value` that the allowlist did NOT admit (Plaintext, SecretString, ...): the values an
 * error message must never repeat. Walks plain objects and arrays only.
 */
export function excludedStrings(value: unknown, members: { readonly [member: string]: Shape } | undefined, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const v of value) excludedStrings(v, undefined, out);
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const shape = members?.[k];
      if (shape === undefined) collectAll(v, out);
      else if (typeof shape === 'object') excludedStrings(v, shape, out);
    }
  } else if (members === undefined) {
    collectAll(value, out);
  }
  return out;
}

function collectAll(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (v instanceof Uint8Array) out.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'));
  else if (Array.isArray(v)) for (const x of v) collectAll(x, out);
  else if (isPlainObject(v)) for (const x of Object.values(v)) collectAll(x, out);
}
