/**
 * "The app role owns everything in its database": what the original's cleanup (its
 * fixPostgresOwnership, also run at the end of every upsert) guarantees, extended to every kind of
 * object. Objects end up owned by someone else when a migration ran as another login (the
 * original created one login per credential rotation, `<db>_<unix time>`, member of the app role)
 * or as the administrator; the app role could then not alter or drop them in its next migration.
 *
 * In the app database, as the administrator:
 * - PUBLIC loses CREATE on schema `public` where it still has it (databases made before Postgres 15,
 *   or upgraded from one), when the administrator can act as the schema's owner;
 * - the app role gets USAGE and CREATE on schema `public` if it lacks them;
 * - every schema (but `public`), table, view, materialized view, foreign table, free-standing
 *   sequence, type, domain and function/procedure/aggregate that the app role does not own is given
 *   to it. System schemas and objects that belong to an extension are left alone; sequences owned
 *   by a column, array and row types follow their table or type.
 */
import type { Sql } from 'postgres';
import { quoteIdent } from './sql-text.ts';

export type RunStatement = (sql: Sql, statement: string) => Promise<void>;

/** One row per object to give away, in an order that works: schemas, relations, types, routines. */
const OBJECTS_NOT_OWNED_BY = `
with app as (select oid from pg_roles where rolname = $1),
user_schemas as (
  select n.oid, n.nspname, n.nspowner from pg_namespace n
  where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
    and not exists (select 1 from pg_depend d
                    where d.classid = 'pg_namespace'::regclass and d.objid = n.oid and d.deptype = 'e')
),
extension_members as (select classid, objid from pg_depend where deptype = 'e')
select 1 as rank, format('SCHEMA %I', s.nspname) as target
  from user_schemas s
  where s.nspname <> 'public' and s.nspowner <> (select oid from app)
union all
select 2, format(case c.relkind when 'v' then 'VIEW' when 'm' then 'MATERIALIZED VIEW'
                   when 'f' then 'FOREIGN TABLE' when 'S' then 'SEQUENCE' else 'TABLE' end || ' %I.%I',
                 s.nspname, c.relname)
  from pg_class c join user_schemas s on s.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') and c.relowner <> (select oid from app)
    and not exists (select 1 from extension_members e where e.classid = 'pg_class'::regclass and e.objid = c.oid)
    and not (c.relkind = 'S' and exists (
      select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid
        and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')))
union all
select 3, format(case t.typtype when 'd' then 'DOMAIN' else 'TYPE' end || ' %I.%I', s.nspname, t.typname)
  from pg_type t join user_schemas s on s.oid = t.typnamespace
  where t.typowner <> (select oid from app)
    and (t.typtype in ('e', 'r', 'd')
         or (t.typtype = 'c' and (select relkind from pg_class where oid = t.typrelid) = 'c'))
    and not exists (select 1 from extension_members e where e.classid = 'pg_type'::regclass and e.objid = t.oid)
union all
select 4, format(case p.prokind when 'a' then 'AGGREGATE' when 'p' then 'PROCEDURE' else 'FUNCTION' end || ' %s',
                 p.oid::regprocedure)
  from pg_proc p join user_schemas s on s.oid = p.pronamespace
  where p.proowner <> (select oid from app)
    and not exists (select 1 from extension_members e where e.classid = 'pg_proc'::regclass and e.objid = p.oid)
order by 1, 2`;

/** Run inside the app database (`sql` is connected to it) as the administrator. */
export async function giveAppRoleItsObjects(sql: Sql, role: string, run: RunStatement): Promise<void> {
  const [publicCreates] = await sql<{ revoke: boolean }[]>`
    select has_schema_privilege('public', oid, 'CREATE') and pg_has_role(current_user, nspowner, 'USAGE') as revoke
    from pg_namespace where nspname = 'public'`;
  if (publicCreates?.revoke) await run(sql, 'REVOKE CREATE ON SCHEMA public FROM PUBLIC');

  const [publicSchema] = await sql<{ granted: boolean }[]>`
    select has_schema_privilege(${role}, oid, 'USAGE') and has_schema_privilege(${role}, oid, 'CREATE') as granted
    from pg_namespace where nspname = 'public'`;
  if (publicSchema && !publicSchema.granted) {
    await run(sql, `GRANT USAGE, CREATE ON SCHEMA public TO ${quoteIdent(role)}`);
  }

  const objects = await sql.unsafe<{ target: string }[]>(OBJECTS_NOT_OWNED_BY, [role]);
  for (const { target } of objects) {
    await run(sql, `ALTER ${target} OWNER TO ${quoteIdent(role)}`);
  }
}
