// Identifier formats: key ids, key and alias ARNs, alias names, key material ids.
import { InvalidAliasNameException, NotAuthorizedException, ValidationException } from '../errors.ts';
import { randomBytes } from '../crypto/index.ts';

export interface Scope {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Multi-Region key ids (never created by rekey, but a well-formed id that simply does not exist). */
const MRK = /^mrk-[0-9a-f]{32}$/;

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

export function isKeyIdFormat(id: string): boolean {
  return UUID.test(id) || MRK.test(id);
}

export function keyArn(scope: Scope, keyId: string): string {
  return `arn:${scope.partition}:kms:${scope.region}:${scope.accountId}:key/${keyId}`;
}

export function aliasArn(scope: Scope, aliasName: string): string {
  return `arn:${scope.partition}:kms:${scope.region}:${scope.accountId}:${aliasName}`;
}

export interface ParsedArn {
  partition: string;
  region: string;
  accountId: string;
  /** 'key' or 'alias' */
  type: string;
  /** The key id, or the full alias name ("alias/..."). */
  id: string;
}

/** Parses arn:<partition>:kms:<region>:<account>:key/<id> or ...:alias/<name>; null when it is neither. */
export function parseKmsArn(arn: string): ParsedArn | null {
  const m = /^arn:([a-z-]+):kms:([a-z0-9-]*):([0-9]*):(key|alias)\/(.+)$/.exec(arn);
  if (!m) return null;
  const [, partition, region, accountId, type, rest] = m as unknown as [string, string, string, string, string, string];
  return { partition, region, accountId, type, id: type === 'alias' ? `alias/${rest}` : rest };
}

export function newMaterialId(): string {
  return randomBytes(32).toString('hex');
}

export function uuidToBytes(id: string): Buffer {
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

export function bytesToUuid(b: Uint8Array): string {
  const h = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const ALIAS_CHARS = /^[a-zA-Z0-9:/_-]+$/;
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;

/**
 * Checks an alias name that is about to be created, changed or deleted (the schema has already
 * checked the model's length 1-256 and pattern ^[a-zA-Z0-9:/_-]+$).
 */
export function checkAliasNameForWrite(name: string): void {
  // AWS KMS: "The alias must be string of 1-256 characters. It must begin with alias/ ..."
  if (!name.startsWith('alias/')) {
    throw new ValidationException('Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html');
  }
  // AWS KMS: "The alias name cannot begin with alias/aws/. The alias/aws/ prefix is reserved for AWS managed keys."
  if (name.startsWith('alias/aws/')) {
    throw new NotAuthorizedException(`Alias names that begin with alias/aws/ are reserved for AWS managed keys: ${name}`);
  }
  // AWS KMS: "It can contain only alphanumeric characters, forward slashes (/), underscores (_), and dashes (-)."
  if (name.includes(':')) throw new ValidationException(`${name} contains invalid characters for an alias`);
  if (!ALIAS_NAME.test(name)) throw new InvalidAliasNameException(`Alias name ${name} is not valid: it must be alias/ followed by at least one of a-z, A-Z, 0-9, /, _ and -.`);
}

export function looksLikeAliasName(name: string): boolean {
  return ALIAS_CHARS.test(name) && name.startsWith('alias/');
}
