"""db/app-role.sql for real on a throwaway PostgreSQL: the backend's own role on a fresh database, and through
`./deploy.sh local` on an older data folder whose tables the superuser created; the real backend then serves as that
role, which cannot escalate."""
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import ROOT, free_ports, pg_client, stack_sh
from planted import PLANT, escalation
from test_deploy_local import api_call, assert_database_requires_the_password, http, stack  # noqa: F401 (stack)

MIGRATIONS = ROOT / "crates" / "backend-api" / "migrations"
SUPERUSER, SUPERUSER_PASSWORD = "taskmgr", "superuser-test-password"
READY_WAIT = 60


class Cluster:
    """A throwaway PostgreSQL on 127.0.0.1:port, its superuser SUPERUSER with a password."""

    def __init__(self, directory):
        self.dir, (self.port,) = directory, free_ports(1)

    def run_psql(self, database, args, user=SUPERUSER, password=SUPERUSER_PASSWORD, **env):
        return pg_client("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", *args], self.port, user, password,
                         PGDATABASE=database, **env)

    def psql(self, database, sql, user=SUPERUSER, password=SUPERUSER_PASSWORD, check=True):
        result = self.run_psql(database, ["-tA", "-c", sql], user, password)
        assert result.returncode == 0 or not check, f"{user}: {sql}\n{result.stderr}"
        return result

    def run_role_sql(self, database, app_user, app_password):
        """db/app-role.sql as the superuser, the way every deploy path runs it."""
        app = {k: v for k, v in (("APP_DB_USER", app_user), ("APP_DB_PASSWORD", app_password)) if v is not None}
        return self.run_psql(database, ["-f", str(ROOT / "db" / "app-role.sql")], **app)

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
    """A real service binary started with exactly env: (the body of url, the process) once url answers 200 (fails
    if the process exits first or after READY_WAIT); stopped on leaving."""
    with open(log, "w") as out:
        process = subprocess.Popen([str(binary)], env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_WAIT
        while (answer := answered(url)) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{url} not answering; {binary.name} exit status {process.poll()}:\n"
                            f"{log.read_text()[-3000:]}", pytrace=False)
            time.sleep(0.3)
        yield answer, process
    finally:
        process.kill()
        process.wait()


def answered(url):
    try:
        status, body = http("GET", url)
    except OSError:
        return None
    return body if status == 200 else None


def role_attributes(cluster, database, role):
    row = cluster.psql(database, "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, "
                                 f"rolcanlogin FROM pg_roles WHERE rolname = '{role}'").stdout.strip()
    assert row, f"role {role} does not exist"
    return dict(zip(["super", "createrole", "createdb", "replication", "bypassrls", "login"],
                    (v == "t" for v in row.split("|"))))


def owners_in_public(cluster, database):
    """Owner of every table, sequence, enum type and function in the public schema, and of the schema itself;
    an extension's own objects (pg_trgm's functions and types) stay with the extension, so they are left out."""
    rows = cluster.psql(database, """
        SELECT 'schema public', pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'
        UNION ALL SELECT relkind::text || ' ' || relname, pg_get_userbyid(relowner) FROM pg_class c
          WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'S', 'i')
            AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
        UNION ALL SELECT 'type ' || typname, pg_get_userbyid(typowner) FROM pg_type t
          WHERE typnamespace = 'public'::regnamespace AND typtype = 'e'
            AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
        UNION ALL SELECT 'function ' || proname, pg_get_userbyid(proowner) FROM pg_proc p
          WHERE pronamespace = 'public'::regnamespace
            AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')""").stdout
    return dict(line.split("|") for line in rows.splitlines())


def assert_cannot_escalate(cluster, database, role, password):
    for sql, why in [("CREATE ROLE deploysec_intruder", "make roles"),
                     ("COPY (SELECT 1) TO PROGRAM 'true'", "run programs on the server"),
                     (f"ALTER ROLE {role} SUPERUSER", "make itself superuser"),
                     ("CREATE DATABASE deploysec_other", "create databases"),
                     ("SELECT pg_read_file('PG_VERSION')", "read server files")]:
        result = cluster.psql(database, sql, user=role, password=password, check=False)
        refused = "permission denied" in result.stderr.lower() or "must be superuser" in result.stderr.lower()
        assert result.returncode != 0 and refused, f"the app role could {why}: {result.stderr}"


def test_fresh_database_gets_a_role_that_owns_the_schema_and_nothing_more(cluster):
    """Each backend pod's init container runs the script at the same moment on the first deploy: all succeed, and
    print nothing (the password least of all). (The backend then migrates as the role: test_by_hand.py.)"""
    db = cluster.new_database("deploysec_fresh")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: cluster.run_role_sql(db, "app_fresh", "fresh-password"), range(4)))
    assert [(r.returncode, r.stdout) for r in results] == [(0, "")] * 4, [r.stderr for r in results]
    assert role_attributes(cluster, db, "app_fresh") == {
        "super": False, "createrole": False, "createdb": False, "replication": False, "bypassrls": False,
        "login": True}
    assert owners_in_public(cluster, db) == {"schema public": "app_fresh"}
    assert_cannot_escalate(cluster, db, "app_fresh", "fresh-password")


def test_rerunning_keeps_the_data_sets_the_new_password_and_never_runs_planted_code(cluster):
    """The app role plants operators and functions in public that match the script's expressions better than
    PostgreSQL's own: the script pins search_path, so none of them runs when it runs again, as superuser or at all."""
    db = cluster.new_database("deploysec_rerun")
    assert cluster.run_role_sql(db, "app_rerun", "first-password").returncode == 0
    cluster.psql(db, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)", "app_rerun", "first-password")
    cluster.psql(db, PLANT, user="app_rerun", password="first-password")
    before = escalation(lambda sql: cluster.psql(db, sql).stdout)
    again = cluster.run_role_sql(db, "app_rerun", "second-password")
    assert again.returncode == 0, again.stderr
    assert escalation(lambda sql: cluster.psql(db, sql).stdout) == before
    assert cluster.psql(db, "SELECT count(*) FROM planted_runs").stdout.strip() == "0", "no planted code ran"
    assert cluster.psql(db, "SELECT v FROM kept", "app_rerun", "second-password").stdout.strip() == "7"
    old = cluster.psql(db, "SELECT 1", user="app_rerun", password="first-password", check=False)
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
    assert role_attributes(cluster, db, SUPERUSER)["super"] and role_attributes(cluster, db, "other_admin")["super"], \
        "no superuser is ever demoted"


def test_an_older_local_data_folder_gets_a_password_and_hands_its_tables_to_the_backends_role(stack):
    """A data folder of an older `./deploy.sh local`: `initdb --auth=trust`, and the tables, sequence, type and
    function the superuser made before the backend had a role of its own. The next start sets a password and
    requires it, hands them all to the role (db/app-role.sql, as every deploy path runs it), and the backend serves
    the old data as that role, which cannot escalate; the next run keeps its password."""
    pgdata = stack.data_dir / "pgdata"
    stack_sh('stack_init_postgres "$1" "$2" "" && stack_start_postgres "$1" "$3" "$1.log"', pgdata, SUPERUSER,
             stack.ports["LOCAL_PG_PORT"])
    stack.psql("postgres", "CREATE DATABASE taskmgr")
    ups = sorted(MIGRATIONS.glob("*/up.sql"))
    for up in ups:
        stack.psql("taskmgr", up.read_text())
    versions = ", ".join(f"('{up.parent.name.replace('-', '').split('_')[0]}')" for up in ups)
    stack.psql("taskmgr", f"""
        CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY,
                                                 run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP);
        INSERT INTO __diesel_schema_migrations (version) VALUES {versions};
        CREATE TABLE legacy_counter (id serial PRIMARY KEY);
        CREATE FUNCTION legacy_touch() RETURNS integer LANGUAGE sql AS 'SELECT 1';
        INSERT INTO tasks (id, title) VALUES ('00000000-0000-4000-8000-000000000001', 'made before the role');""")
    assert set(owners_in_public(stack, "taskmgr").values()) == {SUPERUSER, "pg_database_owner"}
    stack_sh('STACK_PG_DATA="$1" && stack_stop', pgdata)

    stack.start()
    assert "trusted local connections: setting a password" in stack.log.read_text()
    assert_database_requires_the_password(stack)
    password_file = stack.data_dir / "app_db_password"
    password = password_file.read_text()
    assert password_file.stat().st_mode & 0o777 == 0o600 and len(password) >= 32
    assert role_attributes(stack, "taskmgr", "taskmgr_app")["super"] is False
    owners = owners_in_public(stack, "taskmgr")
    assert set(owners.values()) == {"taskmgr_app"} and {"r tasks", "r __diesel_schema_migrations",
                                                         "S legacy_counter_id_seq", "type task_priority",
                                                         "function legacy_touch"} <= set(owners), owners
    task = api_call(stack.ui, "POST", "/api/tasks", {"title": "as the app role", "priority": "high"}, expect=201)
    assert api_call(stack.ui, "PATCH", f"/api/tasks/{task['id']}", {"completed": True})["completed"] is True
    titles = {t["title"] for t in api_call(stack.ui, "GET", "/api/tasks")}
    assert titles == {"made before the role", "as the app role"}, "the old task is kept, the new one added"
    api_call(stack.ui, "DELETE", f"/api/tasks/{task['id']}")
    api_call(stack.ui, "GET", f"/api/tasks/{task['id']}", expect=404)
    sessions = "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'taskmgr' AND pid <> pg_backend_pid()"
    assert stack.psql("taskmgr", sessions).stdout.split() == ["taskmgr_app"], "the backend connects as its role"
    stack.psql("taskmgr", "INSERT INTO legacy_counter DEFAULT VALUES", user="taskmgr_app", password=password)
    assert_cannot_escalate(stack, "taskmgr", "taskmgr_app", password)

    stack.ctrl_c()
    stack.start()
    assert password_file.read_text() == password, "the next run keeps the password"
    api_call(stack.ui, "GET", "/api/tasks/00000000-0000-4000-8000-000000000001")
    stack.ctrl_c()
