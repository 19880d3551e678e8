// Configuration of the databases component (config key `db`), with defaults.
import { join } from 'node:path';

export interface DbConfig {
  /** Where volumes and data directories live (default <dataDir>/db). */
  dir: string;
  /** Interface the instances' endpoints listen on (default 127.0.0.1). */
  endpointHost: string;
  /** Endpoint.Address reported to clients (default: endpointHost). */
  endpointAddress: string;
  /** Instances this node runs at most (RDS's default DB instance quota: 40). */
  maxInstances: number;
  /** Upper bound of shared_buffers (MiB); an instance gets 25% of its class's memory, as RDS's default parameter group does. */
  sharedBuffersCapMiB: number;
  /** OS user of the servers when rekey runs as root (default postgres). */
  serverUser: string;
  /** OS user of MariaDB servers when rekey runs as root (default mysql, as Debian's mariadb-server makes it). */
  mariadbServerUser: string;
}

export type DbConfigInput = Partial<DbConfig>;

export function dbConfig(dataDir: string, input: DbConfigInput = {}): Readonly<DbConfig> {
  const endpointHost = input.endpointHost ?? '127.0.0.1';
  return Object.freeze({
    dir: input.dir ?? join(dataDir, 'db'),
    endpointHost,
    endpointAddress: input.endpointAddress ?? endpointHost,
    maxInstances: input.maxInstances ?? 40,
    sharedBuffersCapMiB: input.sharedBuffersCapMiB ?? 1024,
    serverUser: input.serverUser ?? 'postgres',
    mariadbServerUser: input.mariadbServerUser ?? 'mysql',
  });
}
