// What the runtime (src/db/runtime.ts) and the instance operations need from a database engine: make
// a data directory, start, find, stop a server, and manage its accounts. One implementation per
// engine: PostgreSQL (src/db/pg-server.ts) and MariaDB (src/db/mariadb-server.ts). Volumes,
// endpoints, supervision, jobs and the RDS API are the same for both.
import type { ChildProcess } from 'node:child_process';
import { InvalidParameterCombination } from '../errors.ts';
import type { DbEngine } from './api.ts';
import type { InstanceRecord } from './model.ts';
import type { ServerUser } from './os-user.ts';

/** Where a server's files are: the data directory (on the volume when encrypted) and a run directory outside it (socket, pid). */
export interface ServerPaths {
  /** The directory the data directory, log and engine configuration live in (the volume's mount when encrypted). */
  base: string;
  dataDir: string;
  logFile: string;
  /** Owned by the server user, outside the volume: the socket and pid file (MariaDB). */
  runDir: string;
}

export interface ServerInit {
  rec: InstanceRecord;
  paths: ServerPaths;
  user: ServerUser;
  /** Zeroed by init. */
  masterPassword: Buffer;
  /** The settings the server will start with (MariaDB: install-db runs with the key-management plugin). */
  settings: Record<string, string>;
}

export interface ServerStartInput {
  rec: InstanceRecord;
  paths: ServerPaths;
  user: ServerUser;
  port: number;
  settings: Record<string, string>;
}

export interface ServerEngine {
  readonly engine: DbEngine;
  /** Names inside ServerPaths.base. */
  readonly dataDirName: string;
  readonly logName: string;
  /** A new data directory (the directory exists, empty, owned by the server user). */
  init(o: ServerInit): Promise<void>;
  /** Starts the server in its own process group; resolves once it accepts connections. */
  start(o: ServerStartInput): Promise<ChildProcess>;
  /** A server of this data directory still running (re-adoption after a rekey restart). */
  running(paths: ServerPaths): { pid: number; port: number } | null;
  /** Clean shutdown; forced after a grace period; resolves when the process is gone. */
  stop(pid: number): Promise<void>;
  /** Ends what a crashed rekey left working on a data directory about to be made again. */
  killStrays(paths: ServerPaths): Promise<number>;
  /** After the first start: the master user (with `masterPassword`), rekey's admin user, the database. */
  setupAccounts(rec: InstanceRecord, paths: ServerPaths, port: number, masterPassword: string): Promise<void>;
  /** ModifyDBInstance MasterUserPassword, as rekey's admin user on the running server. */
  setMasterPassword(rec: InstanceRecord, paths: ServerPaths, port: number, password: string): Promise<void>;
}

/** What rekey does not do for mariadb instances (docs/DATABASES.md): snapshots, read replicas, change-key. */
export function notForMariadb(what: string): Error {
  return new InvalidParameterCombination(`${what} is not supported for engine mariadb in rekey (PostgreSQL instances only). MariaDB instances rotate their storage keys online instead: see docs/MARIADB.md.`);
}
