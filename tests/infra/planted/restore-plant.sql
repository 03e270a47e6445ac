-- Run as the app role after plant.sql, in a database with the tasks table: what a restore could run.
CREATE MATERIALIZED VIEW public.planted_view AS SELECT public.planted_ran() AS ran;
CREATE FUNCTION public.planted_key(text) RETURNS text IMMUTABLE LANGUAGE plpgsql
  AS $$ BEGIN PERFORM public.planted_ran(); RETURN $1; END $$;
CREATE INDEX planted_index ON public.tasks (public.planted_key(title));
CREATE FUNCTION public.planted_trigger() RETURNS trigger LANGUAGE plpgsql
  AS $$ BEGIN PERFORM public.planted_ran(); RETURN NULL; END $$;
CREATE TRIGGER planted_trigger AFTER INSERT OR DELETE ON public.tasks
  FOR EACH ROW EXECUTE FUNCTION public.planted_trigger();
