// AWS KMS wire types (JSON 1.1), with AWS's PascalCase member names. Requests are what
// validate.ts hands to an operation after schema validation: blobs are already decoded to Buffers.
// Responses are what an operation returns: blobs base64, timestamps epoch seconds.

export type EncryptionContext = Record<string, string>;
export type EncryptionAlgorithmSpec = 'SYMMETRIC_DEFAULT' | 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'SM2PKE';

export const KEY_SPECS = [
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1',
  'SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2', 'ECC_NIST_EDWARDS25519',
  'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87', 'ML_KEM_512', 'ML_KEM_768', 'ML_KEM_1024',
] as const;
export const CUSTOMER_MASTER_KEY_SPECS = [
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1',
  'SYMMETRIC_DEFAULT', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2',
] as const;
export const KEY_USAGES = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT', 'ENCAPSULATE_DECAPSULATE'] as const;
export const ORIGINS = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const;
export const ENCRYPTION_ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;
export const DATA_KEY_SPECS = ['AES_256', 'AES_128'] as const;
export const INCLUDE_KEY_MATERIAL = ['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY'] as const;

export interface WireTag {
  TagKey: string;
  TagValue: string;
}

/** Parameters shared by the cryptographic operations that AWS defines but rekey only checks. */
interface CryptoCommon {
  GrantTokens?: string[];
  DryRun?: boolean;
}

export interface CreateKeyRequest {
  Policy?: string;
  Description?: string;
  KeyUsage?: (typeof KEY_USAGES)[number];
  CustomerMasterKeySpec?: (typeof CUSTOMER_MASTER_KEY_SPECS)[number];
  KeySpec?: (typeof KEY_SPECS)[number];
  Origin?: (typeof ORIGINS)[number];
  CustomKeyStoreId?: string;
  BypassPolicyLockoutSafetyCheck?: boolean;
  Tags?: WireTag[];
  MultiRegion?: boolean;
  XksKeyId?: string;
}

export interface KeyIdRequest {
  KeyId: string;
}

export interface DescribeKeyRequest extends KeyIdRequest {
  GrantTokens?: string[];
}

export interface ListRequest {
  Limit?: number;
  Marker?: string;
}

export type ListKeysRequest = ListRequest;

export interface UpdateKeyDescriptionRequest extends KeyIdRequest {
  Description: string;
}

export interface ScheduleKeyDeletionRequest extends KeyIdRequest {
  PendingWindowInDays?: number;
}

export interface EncryptRequest extends KeyIdRequest, CryptoCommon {
  Plaintext: Buffer;
  EncryptionContext?: EncryptionContext;
  EncryptionAlgorithm?: EncryptionAlgorithmSpec;
}

export interface DecryptRequest extends CryptoCommon {
  /** Required unless DryRun with DryRunModifiers [IGNORE_CIPHERTEXT]. */
  CiphertextBlob?: Buffer;
  EncryptionContext?: EncryptionContext;
  KeyId?: string;
  EncryptionAlgorithm?: EncryptionAlgorithmSpec;
  Recipient?: Record<string, unknown>;
  DryRunModifiers?: string[];
}

export interface ReEncryptRequest extends CryptoCommon {
  /** Required unless DryRun with DryRunModifiers [IGNORE_CIPHERTEXT]. */
  CiphertextBlob?: Buffer;
  SourceEncryptionContext?: EncryptionContext;
  SourceKeyId?: string;
  DestinationKeyId: string;
  DestinationEncryptionContext?: EncryptionContext;
  SourceEncryptionAlgorithm?: EncryptionAlgorithmSpec;
  DestinationEncryptionAlgorithm?: EncryptionAlgorithmSpec;
  DryRunModifiers?: string[];
}

export interface GenerateDataKeyRequest extends KeyIdRequest, CryptoCommon {
  EncryptionContext?: EncryptionContext;
  NumberOfBytes?: number;
  KeySpec?: (typeof DATA_KEY_SPECS)[number];
  Recipient?: Record<string, unknown>;
}

export interface GenerateRandomRequest {
  NumberOfBytes?: number;
  CustomKeyStoreId?: string;
  Recipient?: Record<string, unknown>;
}

export interface AliasRequest {
  AliasName: string;
}

export interface CreateAliasRequest extends AliasRequest {
  TargetKeyId: string;
}

export type UpdateAliasRequest = CreateAliasRequest;
export type DeleteAliasRequest = AliasRequest;

export interface ListAliasesRequest extends ListRequest {
  KeyId?: string;
}

export interface TagResourceRequest extends KeyIdRequest {
  Tags: WireTag[];
}

export interface UntagResourceRequest extends KeyIdRequest {
  TagKeys: string[];
}

export interface ListResourceTagsRequest extends KeyIdRequest, ListRequest {}

export interface GetKeyPolicyRequest extends KeyIdRequest {
  PolicyName?: string;
}

export interface PutKeyPolicyRequest extends KeyIdRequest {
  PolicyName?: string;
  Policy: string;
  BypassPolicyLockoutSafetyCheck?: boolean;
}

export interface ListKeyPoliciesRequest extends KeyIdRequest, ListRequest {}

export interface EnableKeyRotationRequest extends KeyIdRequest {
  RotationPeriodInDays?: number;
}

export interface ListKeyRotationsRequest extends KeyIdRequest, ListRequest {
  IncludeKeyMaterial?: (typeof INCLUDE_KEY_MATERIAL)[number];
}

export interface KeyMetadata {
  AWSAccountId: string;
  KeyId: string;
  Arn: string;
  CreationDate: number;
  Enabled: boolean;
  Description: string;
  KeyUsage: string;
  KeyState: string;
  DeletionDate?: number;
  Origin: string;
  KeyManager: 'CUSTOMER' | 'AWS';
  CustomerMasterKeySpec: string;
  KeySpec: string;
  EncryptionAlgorithms: string[];
  MultiRegion: boolean;
  PendingDeletionWindowInDays?: number;
  CurrentKeyMaterialId: string;
}

export interface AliasListEntry {
  AliasName: string;
  AliasArn: string;
  TargetKeyId: string;
  CreationDate: number;
  LastUpdatedDate: number;
}

export interface RotationsListEntry {
  KeyId: string;
  KeyMaterialId: string;
  KeyMaterialState?: 'CURRENT' | 'NON_CURRENT';
  RotationDate?: number;
  RotationType?: 'AUTOMATIC' | 'ON_DEMAND';
}

// ---- grants

export interface GrantConstraints {
  EncryptionContextSubset?: EncryptionContext;
  EncryptionContextEquals?: EncryptionContext;
}

export interface CreateGrantRequest extends KeyIdRequest {
  GranteePrincipal: string;
  RetiringPrincipal?: string;
  Operations: string[];
  Constraints?: GrantConstraints;
  GrantTokens?: string[];
  Name?: string;
  DryRun?: boolean;
}

export interface ListGrantsRequest extends KeyIdRequest, ListRequest {
  GrantId?: string;
  GranteePrincipal?: string;
}

export interface ListRetirableGrantsRequest extends ListRequest {
  RetiringPrincipal: string;
}

export interface RetireGrantRequest {
  GrantToken?: string;
  KeyId?: string;
  GrantId?: string;
  DryRun?: boolean;
}

export interface RevokeGrantRequest extends KeyIdRequest {
  GrantId: string;
  DryRun?: boolean;
}

export interface GrantListEntry {
  /** The key ARN. */
  KeyId: string;
  GrantId: string;
  Name?: string;
  CreationDate: number;
  GranteePrincipal: string;
  RetiringPrincipal?: string;
  IssuingAccount: string;
  Operations: string[];
  Constraints?: GrantConstraints;
}

/** Response bodies are plain JSON objects. */
export type WireResponse = Record<string, unknown>;
