-- The backend's own database role, for every deploy path (kind, compose, local): it owns the database's public
-- schema and the objects in it (so its migrations and queries work) and nothing more: not superuser, no
-- CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS, so it cannot make roles or run programs on the server
-- (COPY ... TO PROGRAM). Idempotent: it creates the role if missing, (re)sets its password, and takes over tables,
-- sequences, types and functions that an older deploy created as the superuser (existing volumes).
--
-- Run it as a superuser, connected to the application's database, with psql 15 or newer (\getenv):
--   APP_DB_USER=taskmgr_app APP_DB_PASSWORD=... psql -X -q -v ON_ERROR_STOP=1 -d taskmgr -f db/app-role.sql
-- The password comes from the environment, never from the command line; it is sent once, in ALTER ROLE.
\set ON_ERROR_STOP on
-- Only PostgreSQL's own functions and operators: the app role owns public, so anything it created there (an
-- operator or function that matches an expression below better than the built-in one) would run as superuser.
SET search_path = pg_catalog, pg_temp;
\getenv app_user APP_DB_USER
\getenv app_password APP_DB_PASSWORD
\if :{?app_user}
\else
  \set app_user ''
\endif
\if :{?app_password}
\else
  \set app_password ''
\endif

-- Refuse what would lock someone out or hand the backend more than its schema.
SELECT :'app_user' = '' OR :'app_password' = '' AS missing,
       :'app_user' = current_user AS is_self,
       EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user' AND rolsuper) AS is_superuser \gset
\if :missing
  DO $$ BEGIN RAISE EXCEPTION 'app-role.sql: set APP_DB_USER and APP_DB_PASSWORD (the backend''s role and password)'; END $$;
\elif :is_self
  DO $$ BEGIN RAISE EXCEPTION 'app-role.sql: APP_DB_USER must differ from the superuser running this script'; END $$;
\elif :is_superuser
  DO $$ BEGIN RAISE EXCEPTION 'app-role.sql: APP_DB_USER names an existing superuser; choose another role name'; END $$;
\endif

BEGIN;
-- Backend pods start together, each running this script: one at a time, so two never both create the role.
SELECT pg_advisory_xact_lock(hashtext('taskmgr db/app-role.sql')) AS locked \gset

SELECT format('CREATE ROLE %I', :'app_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec

SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
              :'app_user', :'app_password') \gexec

-- CONNECT to log in; CREATE because the migrations install pg_trgm, a trusted extension, which PostgreSQL lets a
-- non-superuser create only with CREATE on the database (it also lets the role create schemas in this database).
SELECT format('GRANT CONNECT, CREATE ON DATABASE %I TO %I', current_database(), :'app_user') \gexec

SELECT format('ALTER SCHEMA public OWNER TO %I', :'app_user') \gexec

-- Objects an older deploy created as the superuser. Extension members and sequences that belong to a column
-- follow their extension or table, so they are left out (PostgreSQL refuses to change them on their own).
SELECT format('ALTER %s public.%I OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                             WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
              c.relname, :'app_user')
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace
  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND pg_get_userbyid(c.relowner) <> :'app_user'
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
ORDER BY c.relname \gexec

SELECT format('ALTER TYPE public.%I OWNER TO %I', t.typname, :'app_user')
FROM pg_type t
WHERE t.typnamespace = 'public'::regnamespace
  AND t.typtype IN ('e', 'd', 'r')
  AND pg_get_userbyid(t.typowner) <> :'app_user'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
ORDER BY t.typname \gexec

SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, :'app_user')
FROM pg_proc p
WHERE p.pronamespace = 'public'::regnamespace
  AND pg_get_userbyid(p.proowner) <> :'app_user'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
ORDER BY 1 \gexec

COMMIT;
