# shellcheck shell=bash
# SUPERUSER_PGOPTIONS: the PGOPTIONS of every PostgreSQL superuser session taskmgr's scripts open. The backend's role
# owns the public schema (db/app-role.sql), so search_path is pinned to pg_catalog, pg_temp: nothing that role made
# there (a function or an operator that matches an expression better than the built-in one) can run as superuser.
# A superuser session names tables with their schema (public.tasks).
# shellcheck disable=SC2034 # read by the scripts that source this file
SUPERUSER_PGOPTIONS='-c search_path=pg_catalog,pg_temp'
