"""db/app-role.sql for real on a throwaway PostgreSQL: the backend's own role on a fresh database, which cannot
escalate, reruns, and bad settings (the real backend serving as the role: test_by_hand.py, and test_deploy_local.py on
an older data folder whose tables the superuser created)."""
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import ROOT, assert_cannot_escalate, free_ports, owners_in_public, pg_client, stack_sh
from planted import PLANT, escalation
from test_deploy_local import http

SUPERUSER, SUPERUSER_PASSWORD = "taskmgr", "superuser-test-password"


class Cluster:
    """A throwaway PostgreSQL on 127.0.0.1:port, its superuser SUPERUSER with a password."""

    def __init__(self, directory):
        self.dir, (self.port,) = directory, free_ports(1)

    def psql(self, database, sql, user=SUPERUSER, password=SUPERUSER_PASSWORD, check=True):
        result = pg_client("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", "-c", sql], self.port, user, password,
                           superuser=user == SUPERUSER, PGDATABASE=database)
        assert result.returncode == 0 or not check, f"{user}: {sql}\n{result.stderr}"
        return result

    def run_role_sql(self, database, app_user, app_password):
        """db/app-role.sql as the superuser, the way every deploy path runs it."""
        app = {k: v for k, v in (("APP_DB_USER", app_user), ("APP_DB_PASSWORD", app_password)) if v is not None}
        return pg_client("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(ROOT / "db" / "app-role.sql")],
                         self.port, SUPERUSER, SUPERUSER_PASSWORD, superuser=True, PGDATABASE=database, **app)

    def new_database(self, name):
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return name


@pytest.fixture(scope="module")
def cluster():
    # As root, PostgreSQL runs as the postgres user, which must reach its directory: not pytest's private tmp_path.
    pg = Cluster(Path(tempfile.mkdtemp(prefix="deploysec-pg-")))
    pg.dir.chmod(0o755)
    (pg.dir / "pw").write_text(SUPERUSER_PASSWORD + "\n")
    try:
        stack_sh('stack_init_postgres "$1/data" "$2" "$1/pw" && stack_start_postgres "$1/data" "$3" "$1/log"',
                 pg.dir, SUPERUSER, pg.port)
        yield pg
    finally:
        stack_sh('STACK_PG_DATA="$1/data" && stack_stop', pg.dir)
        shutil.rmtree(pg.dir, ignore_errors=True)


@contextmanager
def serving(binary, env, log, url):  # test_by_hand.py's
    """A real service binary started with exactly env: (the body of url, the process) once url answers 200 (waited
    for as scripts/lib/stack.sh waits: fails if the process exits first or after 60 s); killed on leaving."""
    with open(log, "w") as out:
        process = subprocess.Popen([str(binary)], env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)
    threading.Thread(target=process.wait, daemon=True).start()  # reaped at once: an exit is seen, not a zombie
    try:
        stack_sh('stack_wait_ready "$1" "$2" "$3" "$4"', binary.name, url, log, process.pid)
        yield http("GET", url)[1], process
    finally:
        process.kill()
        process.wait()


def test_a_fresh_database_gets_a_role_that_owns_the_schema_and_nothing_more_and_reruns_run_no_planted_code(cluster):
    """Each backend pod's init container runs the script at the same moment on the first deploy: all succeed, and
    print nothing (the password least of all). (The backend then migrates as the role: test_by_hand.py.) Then the
    role plants operators and functions in public that match the script's expressions better than PostgreSQL's own:
    the script pins search_path, so none of them runs when it runs again, as superuser or at all."""
    db = cluster.new_database("deploysec_fresh")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: cluster.run_role_sql(db, "app_fresh", "fresh-password"), range(4)))
    assert [(r.returncode, r.stdout) for r in results] == [(0, "")] * 4, [r.stderr for r in results]
    attributes = cluster.psql(db, "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, "
                                  "rolcanlogin FROM pg_roles WHERE rolname = 'app_fresh'").stdout.strip()
    assert attributes == "f|f|f|f|f|t", f"login, and no superuser, createrole, createdb, ...: {attributes}"
    assert owners_in_public(cluster, db) == {"schema public": "app_fresh"}
    assert_cannot_escalate(cluster, db, "app_fresh", "fresh-password")
    cluster.psql(db, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)", "app_fresh", "fresh-password")
    cluster.psql(db, PLANT, user="app_fresh", password="fresh-password")
    before = escalation(lambda sql: cluster.psql(db, sql).stdout)
    again = cluster.run_role_sql(db, "app_fresh", "second-password")
    assert again.returncode == 0, again.stderr
    assert escalation(lambda sql: cluster.psql(db, sql).stdout) == before
    assert cluster.psql(db, "SELECT count(*) FROM public.planted_runs").stdout.strip() == "0", "no planted code ran"
    assert cluster.psql(db, "SELECT v FROM kept", "app_fresh", "second-password").stdout.strip() == "7"
    old = cluster.psql(db, "SELECT 1", user="app_fresh", password="fresh-password", check=False)
    assert old.returncode != 0 and "password authentication failed" in old.stderr


@pytest.mark.parametrize("user,password,message", [
    (None, "pw", "set APP_DB_USER and APP_DB_PASSWORD"),
    ("app_nopw", None, "set APP_DB_USER and APP_DB_PASSWORD"),
    ("app_empty", "", "set APP_DB_USER and APP_DB_PASSWORD"),
    (SUPERUSER, "pw", "must differ from the superuser"),
    ("other_admin", "pw", "names an existing superuser"),
])
def test_bad_settings_are_refused_with_a_clear_message_and_change_nothing(cluster, user, password, message):
    db = cluster.new_database(f"deploysec_bad_{abs(hash((user, password))) % 10**8}")
    cluster.psql(db, "DO $$ BEGIN CREATE ROLE other_admin LOGIN SUPERUSER; EXCEPTION WHEN duplicate_object THEN END $$")
    result = cluster.run_role_sql(db, user, password)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert owners_in_public(cluster, db) == {"schema public": "pg_database_owner"}
    superusers = cluster.psql(db, "SELECT rolname FROM pg_roles WHERE rolsuper").stdout.split()
    assert {SUPERUSER, "other_admin"} <= set(superusers), "no superuser is ever demoted"
