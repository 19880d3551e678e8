// The shared owner role of postgresql-alternating-users (docs/SECRETS-STRATEGIES.md).
//
// AWS's alternating-users template clones the user: each login then owns what it creates, so a
// table created by `app_clone` gives `app` "permission denied", and grants made to `app` after the
// clone was created never reach it. rekey instead gives the pair one NOLOGIN role `<base>_owner`:
//   - both logins are members, and `ALTER ROLE <login> SET role = <owner>` makes every session act
//     as the owner role: what either login creates is owned by it and usable by both;
//   - every rotation re-syncs (idempotently): objects still owned by either login in the secret's
//     database are reassigned to the owner role (REASSIGN OWNED), and the privileges and role
//     memberships granted directly to either login are granted to the owner role too.
// All of it runs in the master's transaction together with the password change, so a failure
// leaves nothing half done.
import type { PgClient } from './pg-client.ts';
import { ident } from './pg-client.ts';

export const OWNER_SUFFIX = '_owner';

interface RoleRow { oid: number; rolname: string; rolsuper: boolean; rolcanlogin: boolean }

export async function roles(c: PgClient, names: readonly string[]): Promise<Map<string, RoleRow>> {
  const r = await c.query<RoleRow>('SELECT oid::int AS oid, rolname, rolsuper, rolcanlogin FROM pg_roles WHERE rolname = ANY($1::text[])', [names]);
  return new Map(r.rows.map((row) => [row.rolname, row]));
}

/** Memberships: both logins in the owner role, every session SET role to it. */
export async function joinOwner(c: PgClient, owner: RoleRow, logins: readonly RoleRow[]): Promise<void> {
  for (const login of logins) {
    const m = await c.query('SELECT 1 FROM pg_auth_members WHERE roleid = $1 AND member = $2', [owner.oid, login.oid]);
    if (m.rowCount === 0) await c.query(`GRANT ${ident(owner.rolname)} TO ${ident(login.rolname)}`);
    // A role setting, applied at every login; RESET ROLE also returns to it.
    await c.query(`ALTER ROLE ${ident(login.rolname)} SET role = ${ident(owner.rolname)}`);
  }
}

// Everything granted directly to one of the logins, in this database (relations, columns,
// routines, schemas) and cluster-wide (databases), as GRANT targets. Large objects, types,
// languages, foreign servers and tablespaces are not copied (docs/SECRETS-STRATEGIES.md).
const PRIVILEGES_SQL = `
SELECT a.grantee::int AS grantee, 'DATABASE' AS kind, quote_ident(d.datname) AS obj, NULL AS col, a.privilege_type AS priv
  FROM pg_database d, aclexplode(d.datacl) a WHERE a.grantee = ANY($1::oid[])
UNION ALL
SELECT a.grantee::int, 'SCHEMA', quote_ident(n.nspname), NULL, a.privilege_type
  FROM pg_namespace n, aclexplode(n.nspacl) a WHERE a.grantee = ANY($1::oid[])
UNION ALL
SELECT a.grantee::int, CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
       quote_ident(ns.nspname) || '.' || quote_ident(c.relname), NULL, a.privilege_type
  FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace, aclexplode(c.relacl) a
 WHERE a.grantee = ANY($1::oid[]) AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S')
UNION ALL
SELECT a.grantee::int, 'COLUMN', quote_ident(ns.nspname) || '.' || quote_ident(c.relname), quote_ident(att.attname), a.privilege_type
  FROM pg_attribute att JOIN pg_class c ON c.oid = att.attrelid JOIN pg_namespace ns ON ns.oid = c.relnamespace,
       aclexplode(att.attacl) a
 WHERE a.grantee = ANY($1::oid[]) AND NOT att.attisdropped
UNION ALL
SELECT a.grantee::int, 'ROUTINE', p.oid::regprocedure::text, NULL, a.privilege_type
  FROM pg_proc p, aclexplode(p.proacl) a WHERE a.grantee = ANY($1::oid[])`;

interface PrivRow { grantee: number; kind: string; obj: string; col: string | null; priv: string }

const PRIV_NAME = /^[A-Z]+$/;

/**
 * Grants the owner role every privilege and role membership the logins hold directly that it
 * lacks. Additive: a privilege revoked from a login is not revoked from the owner role (revoke it
 * from `<base>_owner`). Returns how many grants it issued.
 */
export async function syncGrants(c: PgClient, owner: RoleRow, logins: readonly RoleRow[]): Promise<number> {
  let issued = 0;
  const loginOids = logins.map((l) => l.oid);
  const memberships = await c.query<{ rolname: string }>(
    `SELECT DISTINCT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
      WHERE m.member = ANY($1::oid[]) AND m.roleid <> $2 AND NOT m.roleid = ANY($1::oid[])
        AND NOT EXISTS (SELECT 1 FROM pg_auth_members x WHERE x.roleid = m.roleid AND x.member = $2)`,
    [loginOids, owner.oid],
  );
  for (const { rolname } of memberships.rows) {
    await c.query(`GRANT ${ident(rolname)} TO ${ident(owner.rolname)}`);
    issued++;
  }
  const rows = (await c.query<PrivRow>(PRIVILEGES_SQL, [[...loginOids, owner.oid]])).rows;
  const key = (r: PrivRow) => `${r.kind}\0${r.obj}\0${r.col ?? ''}\0${r.priv}`;
  const held = new Set(rows.filter((r) => r.grantee === owner.oid).map(key));
  for (const r of rows) {
    if (r.grantee === owner.oid || held.has(key(r)) || !PRIV_NAME.test(r.priv)) continue;
    held.add(key(r));
    // obj and col were quoted by the server (quote_ident, regprocedure output).
    const stmt = r.kind === 'COLUMN'
      ? `GRANT ${r.priv} (${r.col}) ON TABLE ${r.obj} TO ${ident(owner.rolname)}`
      : `GRANT ${r.priv} ON ${r.kind} ${r.obj} TO ${ident(owner.rolname)}`;
    await c.query(stmt);
    issued++;
  }
  return issued;
}

const ATTRIBUTES = [['rolcreatedb', 'CREATEDB'], ['rolcreaterole', 'CREATEROLE'], ['rolbypassrls', 'BYPASSRLS']] as const;

/**
 * Sessions act as the owner role, so the base login's role attributes that PostgreSQL checks on
 * the current role (CREATEDB, CREATEROLE, BYPASSRLS) are given to the owner role too. And since
 * `"$user"` in the default search_path now names the owner role: a base login without a
 * search_path setting whose name is also a schema's gets `search_path = "<base>", public`; the
 * base login's search_path setting (that one, or the DBA's) is copied to the clone.
 * Run it last in the transaction: it changes the transaction's own search_path.
 */
export async function syncSessionDefaults(c: PgClient, base: string, clone: string, owner: string): Promise<void> {
  const attrs = await c.query<Record<string, boolean>>(
    `SELECT ${ATTRIBUTES.map(([col]) => `b.${col} AND NOT o.${col} AS ${col}`).join(', ')}
       FROM pg_roles b, pg_roles o WHERE b.rolname = $1 AND o.rolname = $2`, [base, owner]);
  for (const [col, attr] of ATTRIBUTES) if (attrs.rows[0]?.[col]) await c.query(`ALTER ROLE ${ident(owner)} ${attr}`);
  const r = await c.query<{ schema: boolean; config: string[] | null }>(
    `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS schema,
            (SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_roles b ON b.oid = s.setrole
              WHERE b.rolname = $1 AND s.setdatabase = 0) AS config`, [base]);
  const prefix = 'search_path=';
  const existing = r.rows[0]?.config?.find((x) => x.startsWith(prefix));
  if (existing === undefined) {
    if (!r.rows[0]?.schema) return;
    for (const login of [base, clone]) await c.query(`ALTER ROLE ${ident(login)} SET search_path = ${ident(base)}, public`);
    return;
  }
  // The stored text is the setting's value as a config file would give it: set_config parses it
  // as a parameter (no SQL is built from it), and FROM CURRENT stores that value for the clone.
  await c.query("SELECT set_config('search_path', $1, true)", [existing.slice(prefix.length)]);
  await c.query(`ALTER ROLE ${ident(clone)} SET search_path FROM CURRENT`);
}

/** Objects either login still owns in this database (and shared objects) move to the owner role. */
export async function reassignOwned(c: PgClient, owner: RoleRow, logins: readonly RoleRow[]): Promise<void> {
  await c.query(`REASSIGN OWNED BY ${logins.map((l) => ident(l.rolname)).join(', ')} TO ${ident(owner.rolname)}`);
}
