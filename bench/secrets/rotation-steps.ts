// Where the time of one database rotation through the API goes: an in-process rekey server and an
// embedded PostgreSQL (scram-sha-256); the built-in strategy is wrapped with timestamps at each
// step, and N rotations (RotateSecret, then DescribeSecret polled every 10 ms until the new version
// is AWSCURRENT) are averaged per phase. No load runs here (see test/secrets-db-rotation-*.test.ts).
//   node --import tsx bench/secrets/rotation-steps.ts [postgresql-single-user|postgresql-alternating-users] [N=20]
import pg from 'pg';
import { randomBytes } from '../../src/crypto/index.ts';
import { postgresScramVerifier } from '../../src/crypto/scram.ts';
import { BUILTIN_STRATEGIES } from '../../src/secrets/strategies/index.ts';
import type { RotationStrategy } from '../../src/secrets/strategy.ts';
import { startPostgres } from '../../test/helpers/pg.ts';
import { startTestServer } from '../../test/helpers/server.ts';
import { createDbSecret, rotateViaApi } from '../../test/helpers/db-rotation-api.ts';

const strategy = process.argv[2] ?? 'postgresql-single-user';
const n = Number(process.argv[3] ?? 20);
const marks: [string, number][] = [];
const mark = (s: string) => marks.push([s, performance.now()]);
const timed: RotationStrategy[] = BUILTIN_STRATEGIES.map((s) => ({
  ...s,
  createPending: (c, p, pw) => { mark('createSecret'); return s.createPending(c, p, pw); },
  setSecret: async (ctx) => { mark('setSecret'); await s.setSecret(ctx); mark('setSecret done'); },
  testSecret: async (ctx) => { mark('testSecret'); await s.testSecret(ctx); mark('testSecret done'); },
  finishSecret: async (ctx) => { mark('labels moved'); await s.finishSecret?.(ctx); },
}));

const db = await startPostgres();
const admin = new pg.Client({ connectionString: db.url });
await admin.connect();
const server = await startTestServer({ secretStrategies: timed });
try {
  const password = randomBytes(24).toString('base64url');
  await admin.query(`CREATE ROLE bench_app LOGIN PASSWORD '${postgresScramVerifier(password)}'`);
  const sm = server.secretsClient();
  const base = { engine: 'postgres', host: '127.0.0.1', port: db.port, dbname: db.database };
  const masterArn = await createDbSecret(sm, 'bench/master', { ...base, username: db.user, password: db.password });
  const arn = await createDbSecret(sm, 'bench/app', { ...base, username: 'bench_app', password, ...(strategy.endsWith('alternating-users') ? { masterarn: masterArn } : {}) });
  const sums = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    marks.length = 0;
    mark('RotateSecret');
    await rotateViaApi(sm, server.jobs, arn, strategy);
    mark('seen by DescribeSecret');
    for (let j = 1; j < marks.length; j++) {
      const k = `${marks[j - 1]![0]} -> ${marks[j]![0]}`;
      sums.set(k, (sums.get(k) ?? 0) + marks[j]![1] - marks[j - 1]![1]);
    }
    sums.set('total', (sums.get('total') ?? 0) + marks.at(-1)![1] - marks[0]![1]);
  }
  console.log(`${strategy}: ${n} rotations, average ms per phase`);
  for (const [k, v] of sums) console.log(`  ${k.padEnd(44)} ${(v / n).toFixed(1)}`);
} finally {
  await server.cleanup();
  await admin.end();
  await db.stop();
}
