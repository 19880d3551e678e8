// The MySQL/MariaDB server for tests: REKEY_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/).
// Off CI an unreachable server makes the tests skip with the reason; with CI=true they run and fail.
import mysql from 'mysql2/promise';

export const MYSQL_URL = process.env.REKEY_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';

export interface MysqlAdmin {
  host: string;
  port: number;
  conn: mysql.Connection;
}

export async function connectAdmin(): Promise<MysqlAdmin> {
  const u = new URL(MYSQL_URL);
  const host = u.hostname;
  const port = Number(u.port || 3306);
  const conn = await mysql.createConnection({
    host, port, user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), connectTimeout: 5_000,
  });
  conn.on('error', () => {});
  return { host, port, conn };
}

/** false (run the tests) or the reason to skip them. */
export async function mysqlSkipReason(): Promise<false | string> {
  if (process.env.CI === 'true') return false;
  try {
    const a = await connectAdmin();
    await a.conn.end();
    return false;
  } catch (e) {
    const u = new URL(MYSQL_URL);
    return `MySQL/MariaDB unreachable at ${u.hostname}:${u.port || 3306} (${(e as Error).message}); set REKEY_TEST_MYSQL_URL`;
  }
}
