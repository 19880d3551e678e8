// KMS grants: the stored record, where it lives, and the rules of the AWS KMS Developer Guide
// ("Grants in AWS KMS", "Grant constraints") that do not need storage.
//
//   kms/grants/<keyId>                           GrantSet: every grant of one key, in creation order
//   kms/retiring-grants/<b64url(principal)>/<id> { keyId }: the ListRetirableGrants index
//   kms/grant-token-key                          the key that seals grant tokens
//
// A grant change writes the GrantSet, the key record (grantCount; so its version changes and every
// node's key cache notices) and the retiring index in one transaction.
import type { EncryptionContext } from '../wire.ts';

export const GRANTS_PREFIX = 'kms/grants/';
export const RETIRING_PREFIX = 'kms/retiring-grants/';
export const grantsPath = (keyId: string): string => GRANTS_PREFIX + keyId;
export const retiringPrefix = (principal: string): string => `${RETIRING_PREFIX}${Buffer.from(principal, 'utf8').toString('base64url')}/`;
export const retiringPath = (principal: string, grantId: string): string => retiringPrefix(principal) + grantId;

/** The GrantOperation enum of the AWS KMS service model. */
export const GRANT_OPERATIONS = [
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'Sign',
  'Verify', 'GetPublicKey', 'CreateGrant', 'RetireGrant', 'DescribeKey', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'GenerateMac', 'VerifyMac', 'DeriveSharedSecret',
] as const;

/**
 * AWS KMS ("Grant operations"): for a symmetric encryption KMS key the grant operations are
 * Decrypt, Encrypt, GenerateDataKey, GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext,
 * GenerateDataKeyWithoutPlaintext, ReEncryptFrom, ReEncryptTo, plus CreateGrant, DescribeKey and
 * RetireGrant, which every key type allows.
 */
export const SYMMETRIC_GRANT_OPERATIONS: ReadonlySet<string> = new Set([
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'CreateGrant', 'DescribeKey', 'RetireGrant',
]);

/**
 * AWS KMS (GrantConstraints): "Grant constraints are not applied to operations that do not support
 * an encryption context, such as ... DescribeKey or RetireGrant." These are the ones that do.
 */
export const CONTEXT_OPERATIONS: ReadonlySet<string> = new Set([
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo',
  'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext',
]);

/** AWS KMS quota "Grants for a KMS key": 50,000. */
export const MAX_GRANTS_PER_KEY = 50_000;

export interface GrantConstraintsRecord {
  /** EncryptionContextSubset: every pair must be in the request's encryption context. */
  subset?: EncryptionContext;
  /** EncryptionContextEquals: the request's encryption context must be exactly these pairs. */
  equals?: EncryptionContext;
}

/** What decides whether a grant allows a request: the stored grant, or the claims of a grant token. */
export interface GrantTerms {
  grantId: string;
  granteePrincipal: string;
  retiringPrincipal?: string;
  operations: string[];
  constraints?: GrantConstraintsRecord;
}

export interface GrantRecord extends GrantTerms {
  keyId: string;
  name?: string;
  /** "arn:aws:iam::<account>:root" of the account the grant was created in. */
  issuingAccount: string;
  /** Epoch milliseconds. */
  creationDate: number;
}

export interface GrantSet {
  v: 1;
  keyId: string;
  /** The key record version written in the same transaction (see grants/authorize.ts, tokens). */
  keyVersion: number;
  grants: GrantRecord[];
}

/** A grant id: 64 lowercase hexadecimal characters, as AWS KMS issues them. */
export const GRANT_ID = /^[0-9a-f]{64}$/;
