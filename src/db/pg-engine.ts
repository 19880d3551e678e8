// The PostgreSQL engine (src/db/server-engine.ts) over pg-server.ts: initdb with the master password,
// the postmaster, and the accounts (rekey_admin, the database) through a pg client.
import pg from 'pg';
import { ident, passwordClause } from '../secrets/strategies/pg-client.ts';
import { ADMIN_ROLE } from './model.ts';
import { initCluster, killStrays, readPostmaster, runningPostmaster, startServer, stopServer } from './pg-server.ts';
import type { ServerEngine } from './server-engine.ts';

export const postgresEngine: ServerEngine = {
  engine: 'postgres',
  dataDirName: 'pgdata',
  logName: 'postgres.log',
  init: ({ rec, paths, user, masterPassword }) => initCluster({ binDir: rec.binDir, dataDir: paths.dataDir, user, masterUsername: rec.masterUsername, masterPassword, logFile: paths.logFile }),
  start: ({ rec, paths, user, port, settings }) => startServer({ binDir: rec.binDir, dataDir: paths.dataDir, user, port, logFile: paths.logFile, settings }),
  running(paths) {
    const pid = runningPostmaster(paths.dataDir);
    return pid === null ? null : { pid, port: readPostmaster(paths.dataDir)?.port ?? 0 };
  },
  stop: (pid) => stopServer(pid),
  killStrays: (paths) => killStrays(paths.dataDir),
  async setupAccounts(rec, _paths, port, masterPassword) {
    const c = new pg.Client({ host: '127.0.0.1', port, user: rec.masterUsername, password: masterPassword, database: 'postgres' });
    await c.connect();
    try {
      const has = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [ADMIN_ROLE]);
      await c.query(`${has.rowCount ? 'ALTER' : 'CREATE'} ROLE ${ident(ADMIN_ROLE)} SUPERUSER LOGIN ${passwordClause(rec.adminPassword)}`);
      if (rec.dbName) {
        const db = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [rec.dbName]);
        if (!db.rowCount) await c.query(`CREATE DATABASE ${ident(rec.dbName)} OWNER ${ident(rec.masterUsername)}`);
      }
    } finally {
      await c.end().catch(() => {});
    }
  },
  async setMasterPassword(rec, _paths, port, password) {
    const c = new pg.Client({ host: '127.0.0.1', port, user: ADMIN_ROLE, password: rec.adminPassword, database: 'postgres' });
    await c.connect();
    try {
      await c.query(`ALTER ROLE ${ident(rec.masterUsername)} ${passwordClause(password)}`);
    } finally {
      await c.end().catch(() => {});
    }
  },
};
