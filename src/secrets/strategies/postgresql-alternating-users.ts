// postgresql-alternating-users: two logins, `<base>` and `<base>_clone` (AWS's naming), take turns.
// setSecret, logged in as the master (the secret named by masterarn), changes the password of the
// login that is NOT AWSCURRENT, so AWSCURRENT keeps working at every instant; clients still on
// AWSPREVIOUS fail once and re-read. Both logins act as a shared NOLOGIN owner role
// (pg-owner-role.ts), re-synced on every rotation.
//
// SQL (setSecret, one transaction in the secret's database, as the master):
//   CREATE ROLE "<base>_owner" NOLOGIN                                  -- first rotation only
//   CREATE ROLE "<base>_clone" LOGIN PASSWORD '<SCRAM verifier>'        -- first rotation only, or
//   ALTER ROLE "<pending>" WITH LOGIN PASSWORD '<SCRAM verifier>'
//   GRANT "<base>_owner" TO "<login>"; ALTER ROLE "<login>" SET role = "<base>_owner"   -- both logins
//   GRANT ... TO "<base>_owner"   -- privileges / memberships granted directly to either login
//   REASSIGN OWNED BY "<base>", "<base>_clone" TO "<base>_owner"
//   ALTER ROLE "<base>_owner" CREATEDB | CREATEROLE | BYPASSRLS          -- when the base login has it
//   ALTER ROLE "<login>" SET search_path = ...                            -- see syncSessionDefaults
import { DatabaseOperationException, ValidationException } from '../../errors.ts';
import type { RotationStrategy, StepContext } from '../strategy.ts';
import { baseUsername, CLONE_SUFFIX, pendingFrom, validateSecret } from './common.ts';
import { PG_MAX_BASE_USERNAME, ident, passwordClause, pgTarget, withPg, type PgClient } from './pg-client.ts';
import { joinOwner, OWNER_SUFFIX, reassignOwned, roles, syncGrants, syncSessionDefaults } from './pg-owner-role.ts';

const MAX = PG_MAX_BASE_USERNAME + CLONE_SUFFIX.length;

function pair(ctx: StepContext): { base: string; clone: string; owner: string } {
  const base = baseUsername(ctx.current.username);
  if (base.length > PG_MAX_BASE_USERNAME) throw new ValidationException(`AWSCURRENT: username must be at most ${PG_MAX_BASE_USERNAME} characters for alternating users`);
  if (baseUsername(ctx.pending.username) !== base || ctx.pending.username === ctx.current.username) {
    throw new ValidationException('AWSPENDING: username must be the other login of the pair (<base> / <base>_clone) than AWSCURRENT');
  }
  return { base, clone: base + CLONE_SUFFIX, owner: base + OWNER_SUFFIX };
}

async function setSecret(ctx: StepContext): Promise<void> {
  validateSecret(ctx.current, 'postgres', 'AWSCURRENT', MAX);
  validateSecret(ctx.pending, 'postgres', 'AWSPENDING', MAX);
  if (!ctx.master) throw new ValidationException('setSecret: alternating users needs the master secret (masterarn)');
  validateSecret(ctx.master, 'postgres', 'master', 63);
  const { base, clone, owner } = pair(ctx);
  const pending = ctx.pending.username;
  // The master connects to the secret's database: REASSIGN OWNED and the privilege copy act on it.
  const master = { ...ctx.master, dbname: ctx.current.dbname ?? ctx.master.dbname };
  const issued = await withPg(master, 'master', 'setSecret', ctx.signal, async (c) => {
    // The first rotation's REASSIGN OWNED and grants lock the objects they touch while application
    // transactions hold locks of their own: with a lock_timeout well below deadlock_timeout (1 s),
    // this transaction is always the one that gives way (55P03) before PostgreSQL's deadlock check
    // picks a victim, which could be an application transaction (40P01). It is then tried again at
    // once, a few times, before the step fails and the job retries it with backoff.
    for (let attempt = 1; ; attempt++) {
      try {
        return await migrate(c);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if ((code !== '55P03' && code !== '40P01') || attempt >= LOCK_ATTEMPTS || ctx.signal?.aborted) throw e;
        await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 200)));
      }
    }
  }, [ctx.pending.password]);
  ctx.progress(`password of ${pending} set (SCRAM-SHA-256 verifier); owner role ${owner} re-synced (${issued} grants added)`);

  async function migrate(c: PgClient): Promise<number> {
    await c.query('BEGIN');
    try {
      await c.query("SET LOCAL lock_timeout = '200ms'");
      let found = await roles(c, [base, clone, owner]);
      const baseRole = found.get(base);
      if (!baseRole) throw new DatabaseOperationException(`setSecret: role ${base} does not exist at ${pgTarget(master, 'master').host}`);
      for (const r of [baseRole, found.get(clone)]) {
        if (r?.rolsuper) throw new ValidationException(`setSecret: ${r.rolname} is a superuser; alternating users rotates ordinary logins only`);
      }
      if (!found.has(owner)) await c.query(`CREATE ROLE ${ident(owner)} NOLOGIN`);
      if (!found.has(pending)) await c.query(`CREATE ROLE ${ident(pending)} LOGIN ${passwordClause(ctx.pending.password)}`);
      else await c.query(`ALTER ROLE ${ident(pending)} WITH LOGIN ${passwordClause(ctx.pending.password)}`);
      found = await roles(c, [base, clone, owner]);
      const ownerRole = found.get(owner);
      const cloneRole = found.get(clone);
      // The pending login was just created or altered, and AWSCURRENT is the other one.
      if (!ownerRole || !cloneRole) throw new DatabaseOperationException(`setSecret: role ${cloneRole ? owner : clone} does not exist (is AWSCURRENT's login still there?)`);
      const logins = [found.get(base)!, cloneRole];
      await joinOwner(c, ownerRole, logins);
      const n = await syncGrants(c, ownerRole, logins);
      await reassignOwned(c, ownerRole, logins);
      await syncSessionDefaults(c, base, clone, owner);
      await c.query('COMMIT');
      return n;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    }
  }
}

/** Immediate tries of setSecret's transaction when it gave way on a lock (about 5 s in all). */
const LOCK_ATTEMPTS = 25;

async function testSecret(ctx: StepContext): Promise<void> {
  validateSecret(ctx.pending, 'postgres', 'AWSPENDING', MAX);
  const owner = baseUsername(ctx.pending.username) + OWNER_SUFFIX;
  await withPg(ctx.pending, 'AWSPENDING', 'testSecret', ctx.signal, async (c) => {
    const r = await c.query<{ s: string; u: string }>('SELECT session_user AS s, current_user AS u');
    if (r.rows[0]?.s !== ctx.pending.username) throw new Error('logged in as another session user than the secret names');
    if (r.rows[0]?.u !== owner) throw new Error(`the session does not act as the owner role ${owner}`);
  });
}

export const postgresqlAlternatingUsers: RotationStrategy = {
  name: 'postgresql-alternating-users',
  needsMaster: true,
  invalidatesCurrent: false,
  createPending: (current, _previous, password) => pendingFrom(current, password, true),
  setSecret,
  testSecret,
};
