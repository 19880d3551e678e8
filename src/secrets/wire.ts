// AWS Secrets Manager (2017-10-17) request shapes, with AWS's PascalCase member names. Responses
// are built as plain objects by each operation; dates are epoch seconds, as in the JSON protocol.
import { S } from '../validation/request.ts';
import type { RotationRules, Tag } from './model.ts';

/** Member shapes of the Secrets Manager service model that several operations share. */
export const M = {
  SecretId: S.string({ min: 1, max: 2048 }),
  Name: S.string({ min: 1, max: 512 }),
  ClientRequestToken: S.string({ min: 32, max: 64 }),
  SecretString: S.string({ min: 0, max: 65536, sensitive: true }),
  SecretBinary: S.blob({ min: 1, max: 65536, sensitive: true }),
  KmsKeyId: S.string({ min: 0, max: 2048 }),
  Description: S.string({ max: 2048 }),
  VersionId: S.string({ min: 32, max: 64 }),
  VersionStage: S.string({ min: 1, max: 256 }),
  VersionStages: S.list(S.string({ min: 1, max: 256 }), { min: 1, max: 20 }),
  Tags: S.list(S.struct({ Key: S.string({ min: 1, max: 128 }), Value: S.string({ min: 0, max: 256 }) })),
  TagKeys: S.list(S.string({ min: 1, max: 128 })),
  MaxResults: S.integer({ min: 1, max: 100 }),
  NextToken: S.string({ min: 1, max: 4096 }),
  ResourcePolicy: S.string({ min: 1, max: 20480 }),
  Boolean: S.boolean(),
  RotationRules: S.struct({
    AutomaticallyAfterDays: S.integer({ min: 1, max: 1000 }),
    Duration: S.string({ min: 2, max: 3, pattern: '^[0-9h]+$' }),
    ScheduleExpression: S.string({ min: 1, max: 256, pattern: '^[0-9A-Za-z()#?*/, -]+$' }),
  }),
  RotationLambdaARN: S.string({ min: 0, max: 2048 }),
} as const;

export interface SecretIdRequest { SecretId: string }

export interface CreateSecretRequest {
  Name: string;
  ClientRequestToken?: string;
  Description?: string;
  KmsKeyId?: string;
  SecretBinary?: Buffer;
  SecretString?: string;
  Tags?: Tag[];
  ForceOverwriteReplicaSecret?: boolean;
}

export interface PutSecretValueRequest {
  SecretId: string;
  ClientRequestToken?: string;
  SecretBinary?: Buffer;
  SecretString?: string;
  VersionStages?: string[];
}

export interface UpdateSecretRequest {
  SecretId: string;
  ClientRequestToken?: string;
  Description?: string;
  KmsKeyId?: string;
  SecretBinary?: Buffer;
  SecretString?: string;
}

export interface GetSecretValueRequest { SecretId: string; VersionId?: string; VersionStage?: string }

export interface RotateSecretRequest {
  SecretId: string;
  ClientRequestToken?: string;
  RotationLambdaARN?: string;
  RotationRules?: RotationRules;
  RotateImmediately?: boolean;
}

export interface DeleteSecretRequest { SecretId: string; RecoveryWindowInDays?: number; ForceDeleteWithoutRecovery?: boolean }

export interface ListRequest { MaxResults?: number; NextToken?: string }
