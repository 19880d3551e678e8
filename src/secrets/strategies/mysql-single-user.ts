// mysql-single-user: the secret's user changes its own password (or the master does, when the job
// passes one).
//
// SQL (setSecret):
//   MariaDB, own account:     SET PASSWORD = '*HASH'
//   MariaDB, master:          ALTER USER 'u'@'h' IDENTIFIED BY PASSWORD '*HASH'        (every host of u)
//   MySQL 8.0.14+:            ALTER USER CURRENT_USER() | 'u'@'h'
//                               IDENTIFIED WITH mysql_native_password AS '*HASH' RETAIN CURRENT PASSWORD
//                             (without RETAIN when the server refuses it, e.g. no APPLICATION_PASSWORD_ADMIN)
//   finishSecret, MySQL 8.0.14+: ALTER USER CURRENT_USER() DISCARD OLD PASSWORD (as the new AWSCURRENT)
//
// invalidatesCurrent stays true although MySQL 8's dual passwords keep the old password working:
// the contract field is static and MariaDB (no dual passwords) needs the switching window.
import type { RotationStrategy, StepContext } from '../strategy.ts';
import { pendingFrom, validateSecret } from './common.ts';
import { MYSQL_MAX_USERNAME, account, flavor, hostsOf, identifiedClause, mysqlCanLogin, mysqlTestPending, q, withMysql } from './mysql-client.ts';
import { DatabaseOperationException } from '../../errors.ts';
import { mysqlNativePasswordHash } from '../../crypto/scram.ts';

async function setSecret(ctx: StepContext): Promise<void> {
  validateSecret(ctx.current, 'mysql', 'AWSCURRENT', MYSQL_MAX_USERNAME);
  validateSecret(ctx.pending, 'mysql', 'AWSPENDING', MYSQL_MAX_USERNAME);
  // Idempotence: when AWSPENDING already logs in the step took effect before (a crash before the
  // job recorded it). Not re-running it matters on MySQL 8: a second RETAIN CURRENT PASSWORD would
  // retain the new password and drop the old one.
  if (await mysqlCanLogin(ctx.pending, 'AWSPENDING', 'setSecret', ctx.signal)) {
    ctx.progress('AWSPENDING already logs in; nothing to change');
    return;
  }
  if (ctx.master) validateSecret(ctx.master, 'mysql', 'master', 80);
  const [login, label] = ctx.master ? [ctx.master, 'master'] : [ctx.current, 'AWSCURRENT'];
  await withMysql(login, label, 'setSecret', ctx.signal, async (c) => {
    const f = await flavor(c);
    const clause = identifiedClause(f, ctx.pending.password);
    let targets: string[];
    if (ctx.master) {
      targets = (await hostsOf(c, ctx.pending.username)).map((h) => account(ctx.pending.username, h));
      if (targets.length === 0) throw new DatabaseOperationException(`setSecret: no account named ${ctx.pending.username} exists`);
    } else {
      targets = ['CURRENT_USER()'];
    }
    for (const t of targets) {
      if (f.mariadb) {
        // MariaDB lets every account change its own password with SET PASSWORD (ALTER USER needs CREATE USER).
        await q(c, t === 'CURRENT_USER()' ? `SET PASSWORD = '${mysqlNativePasswordHash(ctx.pending.password)}'` : `ALTER USER ${t} ${clause}`);
      } else if (f.dualPasswords) {
        try {
          await q(c, `ALTER USER ${t} ${clause} RETAIN CURRENT PASSWORD`);
        } catch {
          await q(c, `ALTER USER ${t} ${clause}`); // UNTESTED: no MySQL 8 here
        }
      } else {
        await q(c, `ALTER USER ${t} ${clause}`);
      }
    }
    ctx.progress(`password of ${ctx.pending.username} set (mysql_native_password hash, ${f.mariadb ? 'MariaDB' : 'MySQL'} ${f.version})`);
  }, [ctx.pending.password]);
}

async function finishSecret(ctx: StepContext): Promise<void> {
  // MySQL 8.0.14+ only (UNTESTED here): the old password retained by setSecret stops working.
  await withMysql(ctx.pending, 'AWSPENDING', 'finishSecret', ctx.signal, async (c) => {
    const f = await flavor(c);
    if (!f.dualPasswords) return;
    await q(c, 'ALTER USER CURRENT_USER() DISCARD OLD PASSWORD').catch(() => {
      // Refused without APPLICATION_PASSWORD_ADMIN: setSecret then did not retain one either.
    });
  });
}

export const mysqlSingleUser: RotationStrategy = {
  name: 'mysql-single-user',
  needsMaster: false,
  invalidatesCurrent: true,
  createPending: (current, _previous, password) => pendingFrom(current, password, false),
  setSecret,
  testSecret: (ctx) => mysqlTestPending(ctx.pending, ctx.signal),
  finishSecret,
};
