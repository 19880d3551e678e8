// mysql-alternating-users: two logins, `<base>` and `<base>_clone` (AWS's naming), take turns. The
// master changes the password of the login that is NOT AWSCURRENT, so AWSCURRENT keeps working at
// every instant. MySQL has no object owners (only DEFINERs, which run with the definer's grants),
// so "usable by both" means "the same grants": the clone gets the base user's grants, re-synced on
// every rotation (AWS's template copies them once, when it creates the clone).
//
// SQL (setSecret, as the master), for every host part h of the base user's accounts:
//   CREATE USER '<base>_clone'@'h' IDENTIFIED BY PASSWORD '*HASH'          -- first rotation only, or
//   ALTER USER '<pending>'@'h' IDENTIFIED BY PASSWORD '*HASH'
//   SHOW GRANTS FOR '<base>'@'h'  -> each GRANT / SET DEFAULT ROLE re-issued for '<base>_clone'@'h'
// (MySQL 8: IDENTIFIED WITH mysql_native_password AS '*HASH'; UNTESTED here.)
import { DatabaseOperationException, ValidationException } from '../../errors.ts';
import type { RotationStrategy, StepContext } from '../strategy.ts';
import { baseUsername, CLONE_SUFFIX, pendingFrom, validateSecret } from './common.ts';
import { MYSQL_MAX_USERNAME, account, flavor, hostsOf, identifiedClause, mysqlTestPending, q, withMysql, type MysqlConn } from './mysql-client.ts';

const bq = (s: string) => '`' + s.replace(/`/g, '``') + '`';

/**
 * The base account's grant statements, re-targeted at the clone. SHOW GRANTS prints the grantee as
 * `user`@`host`; MariaDB's authentication clause after it (IDENTIFIED BY PASSWORD '<hash>') is
 * dropped, its REQUIRE and WITH clauses (TLS, grant option, resource limits) are kept.
 */
export function retarget(statement: string, base: string, clone: string, host: string): string | undefined {
  const from = `${bq(base)}@${bq(host)}`;
  const to = `${bq(clone)}@${bq(host)}`;
  if (statement.startsWith('SET DEFAULT ROLE ')) {
    const i = statement.lastIndexOf(` FOR ${from}`);
    return i < 0 ? undefined : `${statement.slice(0, i)} FOR ${to}`;
  }
  if (!statement.startsWith('GRANT ')) return undefined;
  const i = statement.lastIndexOf(` TO ${from}`);
  if (i < 0) return undefined;
  // MariaDB prints the account's authentication (IDENTIFIED BY PASSWORD '<hash>' / IDENTIFIED VIA
  // ...) and then its REQUIRE (TLS) and WITH (GRANT OPTION, resource limits) clauses: keep those.
  const rest = statement.slice(i + ` TO ${from}`.length);
  const tails = [rest.indexOf(' REQUIRE '), rest.indexOf(' WITH ')].filter((k) => k >= 0);
  const tail = tails.length > 0 ? rest.slice(Math.min(...tails)) : '';
  return `${statement.slice(0, i)} TO ${to}${tail}`;
}

async function syncGrants(c: MysqlConn, base: string, clone: string, host: string): Promise<number> {
  const rows = await q<Record<string, string>>(c, `SHOW GRANTS FOR ${account(base, host)}`);
  let n = 0;
  for (const row of rows) {
    const stmt = Object.values(row)[0];
    const target = typeof stmt === 'string' ? retarget(stmt, base, clone, host) : undefined;
    if (!target) continue;
    await q(c, target);
    n++;
  }
  return n;
}

async function setSecret(ctx: StepContext): Promise<void> {
  const max = MYSQL_MAX_USERNAME;
  validateSecret(ctx.current, 'mysql', 'AWSCURRENT', max);
  validateSecret(ctx.pending, 'mysql', 'AWSPENDING', max);
  if (!ctx.master) throw new ValidationException('setSecret: alternating users needs the master secret (masterarn)');
  validateSecret(ctx.master, 'mysql', 'master', 80);
  const base = baseUsername(ctx.current.username);
  const clone = base + CLONE_SUFFIX;
  if (clone.length > max) throw new ValidationException(`AWSCURRENT: username must be at most ${max - CLONE_SUFFIX.length} characters for alternating users`);
  if (baseUsername(ctx.pending.username) !== base || ctx.pending.username === ctx.current.username) {
    throw new ValidationException('AWSPENDING: username must be the other login of the pair (<base> / <base>_clone) than AWSCURRENT');
  }
  const pending = ctx.pending.username;
  await withMysql(ctx.master, 'master', 'setSecret', ctx.signal, async (c) => {
    const f = await flavor(c);
    const clause = identifiedClause(f, ctx.pending.password);
    const hosts = await hostsOf(c, base);
    if (hosts.length === 0) throw new DatabaseOperationException(`setSecret: no account named ${base} exists`);
    const cloneHosts = new Set(await hostsOf(c, clone));
    let grants = 0;
    for (const h of hosts) {
      if (pending === clone && !cloneHosts.has(h)) await q(c, `CREATE USER ${account(clone, h)} ${clause}`);
      else await q(c, `ALTER USER ${account(pending, h)} ${clause}`);
      grants += await syncGrants(c, base, clone, h);
    }
    ctx.progress(`password of ${pending} set (mysql_native_password hash) on ${hosts.length} account(s); ${grants} grant statements re-applied to ${clone}`);
  }, [ctx.pending.password]);
}

export const mysqlAlternatingUsers: RotationStrategy = {
  name: 'mysql-alternating-users',
  needsMaster: true,
  invalidatesCurrent: false,
  createPending: (current, _previous, password) => pendingFrom(current, password, true),
  setSecret,
  testSecret: (ctx) => mysqlTestPending(ctx.pending, ctx.signal),
};
