"""db/app-role.sql for real on a throwaway PostgreSQL: the backend's own role on a fresh database and on an existing
volume whose tables the superuser created; the real backend then serves as that role, which cannot escalate."""
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import ROOT, as_pg_owner, free_ports, initdb, pg_client, postgres_bin
from planted import PLANT, escalation
from test_deploy_local import api_call, http

MIGRATIONS = ROOT / "crates" / "backend-api" / "migrations"
SUPERUSER, SUPERUSER_PASSWORD = "taskmgr", "superuser-test-password"
READY_WAIT = 60


class Cluster:
    """A throwaway PostgreSQL on 127.0.0.1:port, its superuser SUPERUSER with a password."""

    def __init__(self, directory):
        self.bin, self.dir, (self.port,) = postgres_bin(), directory, free_ports(1)

    def run_psql(self, database, args, user=SUPERUSER, password=SUPERUSER_PASSWORD, **env):
        return pg_client("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", *args], self.port, user, password,
                         PGDATABASE=database, **env)

    def psql(self, database, sql, user=SUPERUSER, password=SUPERUSER_PASSWORD, check=True):
        """Runs sql as user; returns the completed process (stdout: unaligned tuples)."""
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
    # As root, PostgreSQL runs as the postgres user, which must own its directory: not pytest's private tmp_path.
    pg = Cluster(Path(tempfile.mkdtemp(prefix="deploysec-pg-")))
    if os.geteuid() == 0:
        shutil.chown(pg.dir, "postgres")
    (pg.dir / "pw").write_text(SUPERUSER_PASSWORD + "\n")
    initdb(pg.dir / "data", SUPERUSER, f"--pwfile={pg.dir / 'pw'}", "--auth=scram-sha-256")
    pg_ctl = as_pg_owner([str(pg.bin / "pg_ctl"), "-D", str(pg.dir / "data"), "-w"])
    try:
        subprocess.run([*pg_ctl, "-l", str(pg.dir / "log"), "-t", "30", "-o", f"-c listen_addresses=127.0.0.1 "
                        f"-p {pg.port} -c unix_socket_directories=''", "start"], check=True, capture_output=True,
                       stdin=subprocess.DEVNULL)
        yield pg
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(pg.dir, ignore_errors=True)


@contextmanager
def serving(binary, env, log, url):
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
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def answered(url):
    """The body of url if it answers 200, else None."""
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


def create_tables_as_the_superuser(cluster, database):
    """What an older deploy left on its volume: the migrations run by the superuser, diesel's bookkeeping table,
    a trigger function, a serial sequence, and one task."""
    for up in sorted(MIGRATIONS.glob("*/up.sql")):
        cluster.psql(database, up.read_text())
    versions = ", ".join(f"('{up.parent.name.replace('-', '').split('_')[0]}')" for up in MIGRATIONS.glob("*/up.sql"))
    cluster.psql(database, f"""
        CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY,
                                                 run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP);
        INSERT INTO __diesel_schema_migrations (version) VALUES {versions};
        CREATE TABLE legacy_counter (id serial PRIMARY KEY);
        CREATE FUNCTION legacy_touch() RETURNS integer LANGUAGE sql AS 'SELECT 1';
        INSERT INTO tasks (id, title) VALUES ('00000000-0000-4000-8000-000000000001', 'made before the role');""")


def crud_as_the_backend(debug_dir, cluster, database, user, password, log):
    """Create, read, update and delete through the real API, the backend connected as the role; returns the titles
    listed in between."""
    port, = free_ports(1)
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "RUST_LOG": "info",
           "DATABASE_URL": f"postgres://{user}:{password}@127.0.0.1:{cluster.port}/{database}"}
    url = f"http://127.0.0.1:{port}"
    with serving(debug_dir / "backend-api", env, log, f"{url}/ready"):
        task = api_call(url, "POST", "/api/tasks", {"title": "as the app role", "priority": "high"}, expect=201)
        assert api_call(url, "PATCH", f"/api/tasks/{task['id']}", {"completed": True})["completed"] is True
        titles = {t["title"] for t in api_call(url, "GET", "/api/tasks")}
        api_call(url, "DELETE", f"/api/tasks/{task['id']}")
        api_call(url, "GET", f"/api/tasks/{task['id']}", expect=404)
        return titles


def assert_cannot_escalate(cluster, database, role, password):
    for sql, why in [("CREATE ROLE deploysec_intruder", "make roles"),
                     ("COPY (SELECT 1) TO PROGRAM 'true'", "run programs on the server"),
                     (f"ALTER ROLE {role} SUPERUSER", "make itself superuser"),
                     ("CREATE DATABASE deploysec_other", "create databases"),
                     ("SELECT pg_read_file('PG_VERSION')", "read server files")]:
        result = cluster.psql(database, sql, user=role, password=password, check=False)
        refused = "permission denied" in result.stderr.lower() or "must be superuser" in result.stderr.lower()
        assert result.returncode != 0 and refused, f"the app role could {why}: {result.stderr}"


def test_fresh_database_gets_a_role_that_owns_the_schema_and_nothing_more(cluster, debug_dir, tmp_path):
    """Each backend pod's init container runs the script at the same moment on the first deploy: all succeed, and
    print nothing (the password least of all). The backend's search migration then runs CREATE EXTENSION pg_trgm
    as the role (hence CREATE on the database)."""
    db = cluster.new_database("deploysec_fresh")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: cluster.run_role_sql(db, "app_fresh", "fresh-password"), range(4)))
    assert [(r.returncode, r.stdout) for r in results] == [(0, "")] * 4, [r.stderr for r in results]
    assert role_attributes(cluster, db, "app_fresh") == {
        "super": False, "createrole": False, "createdb": False, "replication": False, "bypassrls": False,
        "login": True}
    assert owners_in_public(cluster, db) == {"schema public": "app_fresh"}

    assert "as the app role" in crud_as_the_backend(debug_dir, cluster, db, "app_fresh", "fresh-password",
                                                    tmp_path / "backend.log")
    owners = owners_in_public(cluster, db)
    assert owners["r tasks"] == owners["r __diesel_schema_migrations"] == "app_fresh", owners
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


def local_app_role(cluster, data_dir, database):
    """scripts/deploy-local.sh's ensure_local_app_role, run by bash as `./deploy.sh local` runs it (after
    start_local_postgres: STACK_PG_BIN, LOCAL_PG_PORT and the superuser's password file set), against the throwaway
    cluster. Returns the DATABASE_URL it gives the backend."""
    superuser_password_file = data_dir / "pg-password"
    superuser_password_file.write_text(SUPERUSER_PASSWORD)
    script = f"""
        set -euo pipefail
        source {ROOT}/scripts/deploy-local.sh
        STACK_PG_BIN={cluster.bin} LOCAL_PG_PORT={cluster.port} LOCAL_DB={database} PG_PASSWORD_FILE={superuser_password_file}
        ensure_local_app_role {data_dir}
        echo "$LOCAL_DATABASE_URL"
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_deploy_local_gives_the_backend_its_own_role_on_a_new_and_an_existing_data_folder(cluster, debug_dir,
                                                                                          tmp_path):
    """A data folder from before the backend had its own role: the superuser's tables, sequence, type and function
    are handed to the role (db/app-role.sql, as every deploy path runs it), the data is kept, and the role cannot
    escalate."""
    db = cluster.new_database("deploysec_local")
    create_tables_as_the_superuser(cluster, db)
    assert set(owners_in_public(cluster, db).values()) == {SUPERUSER, "pg_database_owner"}
    url = local_app_role(cluster, tmp_path, db)
    password_file = tmp_path / "app_db_password"
    assert oct(password_file.stat().st_mode & 0o777) == "0o600"
    password = password_file.read_text()
    assert len(password) >= 32
    assert url == f"postgres://taskmgr_app:{password}@127.0.0.1:{cluster.port}/{db}"
    assert role_attributes(cluster, db, "taskmgr_app")["super"] is False
    owners = owners_in_public(cluster, db)
    assert set(owners.values()) == {"taskmgr_app"} and {"r tasks", "r __diesel_schema_migrations",
                                                         "S legacy_counter_id_seq", "type task_priority",
                                                         "function legacy_touch"} <= set(owners), owners
    assert local_app_role(cluster, tmp_path, db) == url, "the next run keeps the password"

    titles = crud_as_the_backend(debug_dir, cluster, db, "taskmgr_app", password, tmp_path / "backend.log")
    assert titles == {"made before the role", "as the app role"}, "the old task is kept, the new one added"
    cluster.psql(db, "INSERT INTO legacy_counter DEFAULT VALUES", user="taskmgr_app", password=password)
    assert_cannot_escalate(cluster, db, "taskmgr_app", password)
