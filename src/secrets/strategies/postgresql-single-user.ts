// postgresql-single-user: the secret's user changes its own password (AWS's "single user"
// rotation). AWSCURRENT stops working when setSecret commits, so invalidatesCurrent is true: the
// job marks the secret 'switching' and GetSecretValue(AWSCURRENT) waits until finishSecret moved
// the label, so a client that re-reads after an authentication failure gets the new password.
//
// SQL (setSecret, logged in as AWSCURRENT, or as the master when the job passes one):
//   ALTER ROLE "<user>" PASSWORD 'SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>'
import type { RotationStrategy, StepContext } from '../strategy.ts';
import { pendingFrom, validateSecret } from './common.ts';
import { PG_MAX_BASE_USERNAME, ident, passwordClause, pgCanLogin, pgTestPending, withPg } from './pg-client.ts';

const MAX_USERNAME = PG_MAX_BASE_USERNAME + 6; // no suffix added: the full 63

async function setSecret(ctx: StepContext): Promise<void> {
  validateSecret(ctx.current, 'postgres', 'AWSCURRENT', MAX_USERNAME);
  validateSecret(ctx.pending, 'postgres', 'AWSPENDING', MAX_USERNAME);
  // Idempotence: a re-run after the ALTER took effect (crash before the job recorded the step)
  // finds AWSPENDING already working and changes nothing. Checking first also keeps a re-run from
  // changing the password again under clients that already use AWSPENDING.
  if (await pgCanLogin(ctx.pending, 'AWSPENDING', 'setSecret', ctx.signal)) {
    ctx.progress('AWSPENDING already logs in; nothing to change');
    return;
  }
  const [login, label] = ctx.master ? [ctx.master, 'master'] : [ctx.current, 'AWSCURRENT'];
  if (ctx.master) validateSecret(ctx.master, 'postgres', 'master', MAX_USERNAME);
  await withPg(login, label, 'setSecret', ctx.signal, async (c) => {
    await c.query(`ALTER ROLE ${ident(ctx.pending.username)} ${passwordClause(ctx.pending.password)}`);
  }, [ctx.pending.password]);
  ctx.progress(`password of ${ctx.pending.username} set (SCRAM-SHA-256 verifier)`);
}

export const postgresqlSingleUser: RotationStrategy = {
  name: 'postgresql-single-user',
  needsMaster: false,
  invalidatesCurrent: true,
  createPending: (current, _previous, password) => pendingFrom(current, password, false),
  setSecret,
  testSecret: (ctx) => pgTestPending(ctx.pending, ctx.signal),
};
