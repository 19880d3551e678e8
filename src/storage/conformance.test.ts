// Runs the shared conformance suite against every backend: memory, SQLite, and PostgreSQL on a
// real embedded server with scram-sha-256 authentication.
import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendConformance } from './conformance.ts';
import { MemoryBackend } from './memory.ts';
import { SqliteBackend } from './sqlite.ts';
import { PostgresBackend } from './postgres.ts';
import { startPostgres, type StartedPostgres } from '../../test/helpers/pg.ts';

backendConformance('memory', async () => new MemoryBackend());

const sqliteDir = mkdtempSync(join(tmpdir(), 'rekey-sqlite-'));
let sqliteCount = 0;
backendConformance(
  'sqlite',
  async () => SqliteBackend.open(join(sqliteDir, `t${++sqliteCount}.db`)),
  async () => rmSync(sqliteDir, { recursive: true, force: true }),
);

let pg: StartedPostgres | undefined;
before(async () => {
  pg = await startPostgres();
});
after(async () => {
  await pg?.stop();
});
let pgCount = 0;
backendConformance('postgres', async () => {
  if (!pg) throw new Error('postgres did not start');
  // A table per test keeps tests independent; pool size 25 lets the 20-way races really race.
  return PostgresBackend.open(pg.url, { table: `conformance_${++pgCount}`, pool: { max: 25 } });
});
