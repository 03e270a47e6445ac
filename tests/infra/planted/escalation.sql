-- As a superuser, after plant.sql: the superusers, the role memberships, and how often planted code ran as a
-- superuser. Its own search_path is pinned too (the test harness is a superuser session).
SET search_path = pg_catalog, pg_temp;
SELECT 'superusers: ' || string_agg(rolname, ' ' ORDER BY rolname) FROM pg_catalog.pg_roles WHERE rolsuper
UNION ALL
SELECT 'members: ' || coalesce(string_agg(m.member::regrole || '>' || m.roleid::regrole, ' '
                                          ORDER BY m.member::regrole::text, m.roleid::regrole::text), '')
  FROM pg_catalog.pg_auth_members m
UNION ALL
SELECT 'superuser runs: ' || count(*) FROM public.planted_runs WHERE superuser;
