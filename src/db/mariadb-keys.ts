// StorageEncrypted for mariadb instances (docs/MARIADB.md, "RDS mariadb instances"): besides the
// gocryptfs volume, MariaDB's own encryption (InnoDB tables, redo log, temporary tables, binlog,
// temporary files, Aria tables) with the hashicorp_key_management plugin reading versioned keys from
// rekey's keyserve. Per instance:
//   - a keyring `rds-<dbiresourceid>` under the instance's KMS key, owned by the RDS service, keys 1
//     and 2, version step 2 (one KMS rotation moves every tablespace: InnoDB re-encrypts a page only
//     when its version + innodb_encryption_rotate_key_age (>= 1) is below the latest);
//   - a service token scoped to it (stored in the instance record, behind the barrier; on disk only in
//     my.cnf on the encrypted volume), revoked with the keyring when the instance is deleted.
// A disabled KMS key stops both the volume unlock and every key read: the instance cannot start.
// Rotation progress: the InnoDB tablespaces still below the newest key version (from
// information_schema.INNODB_TABLESPACES_ENCRYPTION). Old versions are retired once the server
// provably no longer needs them (src/db/mariadb-retire.ts; the periodic key check runs `retire`).
import type { KeyserveService } from '../keyserve/service.ts';
import { mariaDbOptions } from '../keyserve/mariadb-config.ts';
import type { InstanceRecord } from './model.ts';
import { mariadbAdminRows, mariadbAdminSession } from './mariadb-server.ts';
import { decide, gatherEvidence, rebuildSystemAria, systemAria, type AdminQuery, type KeyDecision } from './mariadb-retire.ts';
import type { ServerPaths } from './server-engine.ts';

export type MariaDbKeyserve = Pick<KeyserveService, 'ensureServiceKeyring' | 'issueServiceToken' | 'deleteServiceKeyring' | 'latestVersions' | 'versionsOf' | 'retireBelow'>;

export interface MariaDbKeysDeps {
  keyserve: MariaDbKeyserve;
  /** rekey's base URL as the instances reach it, and the CA file they trust it with (HTTPS). */
  endpoint: () => { url: string; caFile?: string };
}

/** What an encrypted mariadb instance's record keeps: its keyring and token. */
export interface InstanceKeys {
  keyring: string;
  token: string;
  accessor: string;
}

export interface KeyRotation {
  /** The newest version of key 1 (InnoDB's default key). */
  latestKeyVersion: number;
  tablespaces: number;
  /** Tablespaces not yet encrypted, or with pages below the newest version of their key. */
  remaining: number;
  /** Per key id: versions served, retired, and what holds the older ones served (src/db/mariadb-retire.ts). */
  versions: KeyVersionsView[];
}

export interface KeyVersionsView { keyId: number; served: number[]; retired: number[]; keptBecause: string[] }

const toView = (d: KeyDecision): KeyVersionsView => ({ keyId: d.keyId, served: d.served, retired: d.retired, keptBecause: d.keptBecause });

/** Every mariadb instance: a binary log (RDS MariaDB keeps one), kept a day. */
export const MARIADB_BASE_SETTINGS: Readonly<Record<string, string>> = { 'log-bin': 'binlog', 'server-id': '1', binlog_expire_logs_seconds: '86400' };

/** A row of information_schema.INNODB_TABLESPACES_ENCRYPTION (the columns rekey reads). */
export interface TablespaceRow { MIN_KEY_VERSION: number; CURRENT_KEY_VERSION: number; CURRENT_KEY_ID: number; ROTATING_OR_FLUSHING: number }

/**
 * InnoDB knows the newest version of every tablespace's key (CURRENT_KEY_VERSION), some tablespace
 * is still below it, and none is being rotated: its encryption threads stalled. (Before the plugin
 * has seen the new version, CURRENT_KEY_VERSION is older: that is waiting, not stalling.)
 */
export function rotationStalled(rows: readonly TablespaceRow[], latest: ReadonlyMap<number, number>): boolean {
  const newest = (r: TablespaceRow) => latest.get(Number(r.CURRENT_KEY_ID)) ?? 0;
  return rows.some((r) => Number(r.MIN_KEY_VERSION) < newest(r))
    && rows.every((r) => Number(r.CURRENT_KEY_VERSION) >= newest(r) && Number(r.ROTATING_OR_FLUSHING) === 0);
}

export const keyringOf = (rec: Pick<InstanceRecord, 'resourceId'>): string => `rds-${rec.resourceId.toLowerCase()}`;

export class MariaDbKeys {
  constructor(private readonly d: MariaDbKeysDeps, private readonly service: string) {}

  /** The instance's keyring and token (made once; idempotent). */
  async ensure(rec: InstanceRecord): Promise<InstanceKeys> {
    if (rec.mariadbKeys) return rec.mariadbKeys;
    if (!rec.kmsKeyArn) throw new Error(`instance ${rec.id} has no KMS key`);
    const keyring = keyringOf(rec);
    await this.d.keyserve.ensureServiceKeyring(keyring, rec.kmsKeyArn, this.service);
    const t = await this.d.keyserve.issueServiceToken(keyring, this.service, `RDS instance ${rec.arn}`);
    return { keyring, token: t.token, accessor: t.accessor };
  }

  /**
   * The plugin and encryption options for my.cnf (none for an unencrypted instance). The redo log
   * keeps the key version it was created under until it is re-created, which a start with another
   * innodb_log_file_size does: the size alternates between 96 and 97 MiB with each rotation of key 1,
   * so the first start after a rotation moves the redo log to the newest version (src/db/mariadb-retire.ts).
   */
  async settings(rec: InstanceRecord): Promise<Record<string, string>> {
    const base = { ...MARIADB_BASE_SETTINGS };
    if (!rec.storageEncrypted) return base;
    if (!rec.mariadbKeys) throw new Error(`instance ${rec.id} has no keyring yet`);
    const newest = (await this.d.keyserve.latestVersions(keyringOf(rec)).catch(() => null))?.get(1) ?? 1;
    const rotations = Math.floor((newest - 1) / 2); // version step 2
    base['innodb_log_file_size'] = `${96 + (rotations % 2)}M`;
    const { url, caFile } = this.d.endpoint();
    const opts = mariaDbOptions({
      endpoint: url, keyring: rec.mariadbKeys.keyring, token: rec.mariadbKeys.token, ...(caFile ? { caFile } : {}),
      // the plugin's timeouts count mariadbd's CPU time (docs/MARIADB.md): a rotation is seen after 1 s of it
      cacheTimeoutMs: 60_000, cacheVersionTimeoutMs: 1000, encryptionThreads: 2,
    });
    return { ...base, ...Object.fromEntries(opts) };
  }

  async remove(rec: InstanceRecord): Promise<void> {
    if (rec.engine === 'mariadb' && rec.storageEncrypted) await this.d.keyserve.deleteServiceKeyring(keyringOf(rec), this.service);
  }

  /**
   * InnoDB sometimes knows the newest key version (CURRENT_KEY_VERSION) and still leaves every
   * tablespace below it, no thread rotating (measured: minutes, until its encryption threads were
   * restarted; then 0.15 s). The periodic key check calls this: in that state it restarts the
   * threads (innodb_encryption_threads 0, then back), which re-read the latest versions and scan
   * every tablespace. Returns whether it did.
   */
  async nudgeIfStuck(rec: InstanceRecord, paths: ServerPaths): Promise<boolean> {
    const latest = await this.d.keyserve.latestVersions(keyringOf(rec));
    const rows = await mariadbAdminRows<TablespaceRow>(rec, paths,
      'SELECT MIN_KEY_VERSION, CURRENT_KEY_VERSION, CURRENT_KEY_ID, ROTATING_OR_FLUSHING FROM information_schema.INNODB_TABLESPACES_ENCRYPTION WHERE ENCRYPTION_SCHEME = 1');
    if (!rotationStalled(rows, latest)) return false;
    const [threads] = await mariadbAdminRows<{ n: number }>(rec, paths, 'SELECT @@innodb_encryption_threads AS n');
    await mariadbAdminRows(rec, paths, 'SET GLOBAL innodb_encryption_threads = 0');
    await mariadbAdminRows(rec, paths, `SET GLOBAL innodb_encryption_threads = ${Math.max(1, Number(threads?.n ?? 2))}`);
    return true;
  }

  /** How far InnoDB is in moving to the newest key versions, and which versions are kept or retired (the server must be running). */
  async progress(rec: InstanceRecord, paths: ServerPaths): Promise<KeyRotation> {
    const latest = await this.d.keyserve.latestVersions(keyringOf(rec));
    const rows = await mariadbAdminRows<{ ENCRYPTION_SCHEME: number; MIN_KEY_VERSION: number; CURRENT_KEY_ID: number }>(rec, paths,
      'SELECT ENCRYPTION_SCHEME, MIN_KEY_VERSION, CURRENT_KEY_ID FROM information_schema.INNODB_TABLESPACES_ENCRYPTION');
    const remaining = rows.filter((r) => Number(r.ENCRYPTION_SCHEME) === 0 || Number(r.MIN_KEY_VERSION) < (latest.get(Number(r.CURRENT_KEY_ID)) ?? 0)).length;
    const evidence = await mariadbAdminSession(rec, paths, (q) => gatherEvidence(q, paths.dataDir)).catch(() => null);
    const versions = decide(evidence, await this.d.keyserve.versionsOf(keyringOf(rec))).map(toView);
    return { latestKeyVersion: latest.get(1) ?? 0, tablespaces: rows.length, remaining, versions };
  }

  /**
   * Retires the versions the running server provably no longer needs (src/db/mariadb-retire.ts):
   * an idempotent check the periodic key check runs; a kill at any point leaves either the old
   * record (checked again next time) or the versions retired with their audit event. When the
   * server started after the newest versions were made, the `mysql` and `sys` Aria tables written before
   * that start are rebuilt first. Returns the `id:version`s retired.
   */
  async retire(rec: InstanceRecord, paths: ServerPaths): Promise<string[]> {
    const keyring = keyringOf(rec);
    await this.d.keyserve.latestVersions(keyring); // synced with the KMS key first: a version made now restarts the wait
    const keys = await this.d.keyserve.versionsOf(keyring);
    if (![...keys.values()].some((k) => k.served.length > 1)) return [];
    const newestMade = Math.max(...[...keys.values()].map((k) => k.served.at(-1)?.createdAt ?? Infinity));
    const evidence = await mariadbAdminSession(rec, paths, async (q: AdminQuery) => {
      const first = await gatherEvidence(q, paths.dataDir);
      const system = systemAria(first);
      if (first.startedAtMs <= newestMade || system.length === 0) return first;
      await rebuildSystemAria(q, system);
      return gatherEvidence(q, paths.dataDir);
    });
    const decisions = decide(evidence, keys);
    const floors = new Map(decisions.filter((d) => d.floor > d.served[0]!).map((d) => [d.keyId, d.floor]));
    if (floors.size === 0) return [];
    const why = `server started ${new Date(evidence.startedAtMs).toISOString()}; kept from ${decisions.map((d) => `${d.keyId}:${d.floor}`).join(',')}; redo log ${evidence.redoKeyVersion}; binlogs ${evidence.binlogs.map((b) => b.keyVersion).join(',')}`;
    return this.d.keyserve.retireBelow(keyring, floors, this.service, why);
  }
}
