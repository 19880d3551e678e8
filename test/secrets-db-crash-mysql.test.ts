// SIGKILL inside each rotation step with the real MySQL strategies on the MariaDB at
// REKEY_TEST_MYSQL_URL: after a restart on the same data directory the rotation finishes,
// AWSCURRENT logs in and no password was lost (test/helpers/db-crash.ts has the scenario and the
// checks). Users are created here with real passwords (sent as hashes) and dropped at the end.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { randomBytes } from '../src/crypto/index.ts';
import { mysqlNativePasswordHash } from '../src/crypto/scram.ts';
import type { DbSecret } from '../src/secrets/strategy.ts';
import { KILL_POINTS } from './helpers/crash-strategies.ts';
import { killInside, type CrashEngine } from './helpers/db-crash.ts';
import { connectAdmin, mysqlSkipReason, type MysqlAdmin } from './helpers/mysql.ts';

const skip = await mysqlSkipReason();
const tag = randomBytes(3).toString('hex');
const db = `rekey_crash_${tag}`;
const users: string[] = [];
let admin: MysqlAdmin;
let engine: CrashEngine;

async function createUser(name: string, grant: string): Promise<DbSecret> {
  const password = randomBytes(24).toString('base64url');
  users.push(name, `${name}_clone`);
  await admin.conn.query(`CREATE USER '${name}'@'%' IDENTIFIED BY PASSWORD '${mysqlNativePasswordHash(password)}'`);
  await admin.conn.query(grant.replace('{}', `'${name}'@'%'`));
  return { engine: 'mariadb', host: admin.host, port: admin.port, username: name, password, dbname: db };
}

async function login(s: DbSecret): Promise<void> {
  const c = await mysql.createConnection({ host: s.host, port: Number(s.port), user: s.username, password: s.password, database: String(s.dbname) });
  try {
    const [rows] = await c.query('SELECT CURRENT_USER() AS u');
    assert.equal((rows as Array<{ u: string }>)[0]!.u, `${s.username}@%`);
  } finally {
    await c.end();
  }
}

before(async () => {
  if (skip) return;
  admin = await connectAdmin();
  await admin.conn.query(`CREATE DATABASE \`${db}\``);
  const master = await createUser(`cm_${tag}`, 'GRANT ALL PRIVILEGES ON *.* TO {} WITH GRANT OPTION');
  engine = {
    master,
    createLogin: (name) => createUser(name, `GRANT SELECT ON \`${db}\`.* TO {}`),
    async stored(names) {
      const [rows] = await admin.conn.query("SELECT User AS u, authentication_string AS h FROM mysql.user WHERE User IN (?) AND Host = '%'", [names]);
      return new Map((rows as Array<{ u: string; h: string }>).map((x) => [x.u, x.h]));
    },
    accepts: (stored, password) => stored === mysqlNativePasswordHash(password),
    login,
    async assertRefused(s) {
      await assert.rejects(login(s), (e: { code?: string; message: string }) => {
        assert.equal(e.code, 'ER_ACCESS_DENIED_ERROR');
        assert.match(e.message, new RegExp(`^Access denied for user '${s.username}'@`));
        return true;
      });
    },
  };
});
after(async () => {
  if (!admin) return;
  for (const u of users) await admin.conn.query(`DROP USER IF EXISTS '${u}'@'%'`);
  await admin.conn.query(`DROP DATABASE IF EXISTS \`${db}\``);
  await admin.conn.end();
});

for (const strategy of ['mysql-single-user', 'mysql-alternating-users']) {
  for (const point of KILL_POINTS) {
    test(`${strategy} (MariaDB): SIGKILL inside ${point}; after a restart the rotation finishes and no password is lost`, { skip, timeout: 120_000 }, () => killInside(engine, strategy, point, `c${tag}`));
  }
}
