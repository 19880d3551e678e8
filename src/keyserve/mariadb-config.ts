// The MariaDB server options that put its data at rest under keys from rekey (docs/MARIADB.md):
// the hashicorp_key_management plugin reading this keyring, and encryption of InnoDB tables, redo
// log, temporary tables, binary log, temporary files and Aria tables. `rekey db mariadb-config`
// prints them as a [mariadb] block; the tests start mariadbd with the same options.

export interface MariaDbConfigInput {
  /** rekey's base URL as MariaDB reaches it, e.g. https://rekey.internal:8370 */
  endpoint: string;
  keyring: string;
  token: string;
  /** HTTPS: the CA bundle file MariaDB trusts rekey's certificate with. */
  caFile?: string;
  /** Key cache lifetime in the plugin (ms, its default 60000). */
  cacheTimeoutMs?: number;
  /** How long the plugin trusts its cached "latest version" (ms): a rotation is seen after at most this. */
  cacheVersionTimeoutMs?: number;
  /** Background re-encryption threads (InnoDB's default 0 would never rotate). */
  encryptionThreads?: number;
}

/** [name, value] pairs, in the order a [mariadb] block lists them. */
export function mariaDbOptions(i: MariaDbConfigInput): [string, string][] {
  const base = i.endpoint.replace(/\/+$/, '');
  return [
    ['plugin-load-add', 'hashicorp_key_management.so'],
    ['hashicorp-key-management', 'FORCE_PLUS_PERMANENT'],
    ['hashicorp-key-management-vault-url', `${base}/v1/mariadb/${i.keyring}`],
    ['hashicorp-key-management-token', i.token],
    ...(i.caFile ? [['hashicorp-key-management-vault-ca', i.caFile] as [string, string]] : []),
    ['hashicorp-key-management-cache-timeout', String(i.cacheTimeoutMs ?? 60_000)],
    ['hashicorp-key-management-cache-version-timeout', String(i.cacheVersionTimeoutMs ?? 60_000)],
    ['innodb-encrypt-tables', 'FORCE'],
    ['innodb-encrypt-log', 'ON'],
    ['innodb-encrypt-temporary-tables', 'ON'],
    ['innodb-encryption-threads', String(i.encryptionThreads ?? 4)],
    // a page is re-encrypted as soon as its key version is 1 behind the latest
    ['innodb-encryption-rotate-key-age', '1'],
    ['encrypt-binlog', 'ON'],
    ['encrypt-tmp-files', 'ON'],
    ['aria-encrypt-tables', 'ON'],
  ];
}

export function mariaDbConfigBlock(i: MariaDbConfigInput): string {
  const lines = mariaDbOptions(i).map(([k, v]) => `${k.replace(/-/g, '_')} = ${v}`);
  return ['[mariadb]', ...lines, ''].join('\n');
}

/** The same options as mariadbd command-line flags. */
export function mariaDbFlags(i: MariaDbConfigInput): string[] {
  return mariaDbOptions(i).map(([k, v]) => `--${k}=${v}`);
}
