// keyserve: versioned keys for MariaDB's hashicorp_key_management plugin (docs/MARIADB.md).
// A keyring ("database") names the KMS key its keys live under and holds numeric keys (MariaDB key
// ids: 1 = system data, InnoDB's default; 2 = temporary data), each with versions. Every version is
// a 256-bit data key generated under the KMS key and kept only as its KMS ciphertext; the record
// itself is stored behind the barrier. Tokens are stored by their SHA-256 (never the token).

/** MariaDB's key ids are unsigned 32-bit; 0 is not a key. */
export const MAX_KEY_ID = 0xffffffff;
export const KEYRING_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export interface KeyVersion {
  version: number;
  /** The KMS key material that encrypted this version (a KMS rotation adds a version under the new one). */
  materialId: string;
  /** The data key as a KMS ciphertext (base64); context: { 'rekey:keyserve': `<keyring>/<key id>/<version>` }. */
  blob: string;
  createdAt: number;
}

export interface KeyringRecord {
  name: string;
  arn: string;
  kmsKeyId: string;
  kmsKeyArn: string;
  createdAt: number;
  /** Key id (decimal string) -> its versions, oldest first. */
  keys: Record<string, KeyVersion[]>;
  /**
   * How far a rotation moves the version number (default 1). Keyrings of RDS mariadb instances use 2:
   * InnoDB re-encrypts a page only when its version + innodb_encryption_rotate_key_age (at least 1) is
   * below the latest, so with a step of 2 one KMS rotation moves every tablespace (docs/MARIADB.md).
   */
  versionStep?: number;
  /** A keyring an AWS-style service (rds) made for one of its resources; deleted with it. */
  ownedBy?: string;
  /**
   * Key id -> versions retired (their data keys deleted: no longer served, 404 to the plugin), oldest
   * first. Only an RDS mariadb instance's keyring retires, once its server provably no longer needs
   * them (src/db/mariadb-retire.ts, docs/MARIADB.md "Retiring old versions").
   */
  retired?: Record<string, { version: number; retiredAt: number }[]>;
}

export interface TokenRecord {
  accessor: string;
  keyring: string;
  /** The principal the token acts as: each read is authorized with its identity policies now. */
  principalArn: string;
  /** IAM user name (absent for the account root). */
  userName?: string;
  description?: string;
  createdAt: number;
  revokedAt?: number;
  /**
   * A service token (an RDS mariadb instance's): it acts as the service principal (e.g.
   * rds.<region>.amazonaws.com), is scoped to the keyring the service made for the instance and
   * lives as long as the instance; it has no IAM policies to re-check.
   */
  service?: string;
}

export const PATHS = {
  keyring: (name: string) => `keyserve/keyrings/${name}`,
  keyrings: 'keyserve/keyrings/',
  token: (hash: string) => `keyserve/tokens/${hash}`,
  accessor: (keyring: string, accessor: string) => `keyserve/accessors/${keyring}/${accessor}`,
  accessors: (keyring: string) => `keyserve/accessors/${keyring}/`,
};

/** The IAM action a token's principal needs at every read, on the keyring's ARN. */
export const READ_ACTION = 'rekey:GetMariaDbKey';

export function keyringArn(scope: { region: string; accountId: string }, name: string): string {
  return `arn:aws:rekey:${scope.region}:${scope.accountId}:keyserve/${name}`;
}

export function encryptionContext(keyring: string, keyId: number, version: number): Record<string, string> {
  return { 'rekey:keyserve': `${keyring}/${keyId}/${version}` };
}
