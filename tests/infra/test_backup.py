"""`./deploy.sh backup` and `restore` (scripts/lib/backup.sh) for real on a `./deploy.sh local` stack, restores
compared field by field, every refusal changing nothing. The same commands through the postgres pod: e2e-kind.sh,
here against its stand-ins (test_e2e_kind.py); compose: scripts/e2e-docker.sh."""
import json
import os
import shutil
import subprocess
import time

from conftest import ROOT, pg_client, postgres_bin
from planted import PLANT, RESTORE_PLANT, escalation
from test_deploy_local import http, stack  # noqa: F401 (stack: the fixture, a stopped local stack)

COMMAND_TIMEOUT = 300
MIGRATIONS = sorted(p.name for p in (ROOT / "crates/backend-api/migrations").iterdir() if p.is_dir())
LATEST_DIR = "2026-12-07-000000_title_collation"  # the latest migration, undone to make an older backup
LATEST = LATEST_DIR.split("_")[0].replace("-", "")
TASKS = [
    {"title": "Write the report", "description": "Q3 figures\nsecond line, a tab\there", "priority": "high"},
    {"title": "Water the plants", "priority": "low"},
    {"title": "Ünïcode ✓ and 'quotes' \\ backslash", "description": "", "priority": "medium"},
    {"title": "Done before the backup", "description": "completed", "priority": "high", "completed": True},
]


def deploy(stack, *args, wait=True):
    """./deploy.sh ARGS for the stack's data folder, from the stack's log directory (relative FILEs are there);
    with wait=False the running process (output on its stdout)."""
    env = {**os.environ, "TASKMGR_LOCAL_DATA": str(stack.data_dir)}
    process = subprocess.Popen([str(ROOT / "deploy.sh"), *args], env=env, cwd=stack.log_dir, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE if wait else subprocess.STDOUT)
    if not wait:
        return process
    stdout, stderr = process.communicate(timeout=COMMAND_TIMEOUT)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def api(stack, method, path, body=None, expect=200):
    status, text = http(method, f"{stack.ui}/api{path}", body)
    assert status == expect, f"{method} {path}: {status} {text}"
    return json.loads(text)


def seed(stack):
    for task in TASKS:
        created = api(stack, "POST", "/tasks", {k: v for k, v in task.items() if k != "completed"}, expect=201)
        if task.get("completed"):
            api(stack, "PATCH", f"/tasks/{created['id']}", {"completed": True})
    return all_tasks(stack)


def all_tasks(stack):
    return sorted(api(stack, "GET", "/tasks?limit=1000"), key=lambda t: t["id"])


def superuser_sql(stack, database, sql, app=False):
    """psql as the local stack's superuser (its password file), or as the backend's role (app=True)."""
    return pg_tool(stack, "psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql, app=app)


def pg_tool(stack, name, *args, app=False):
    user, password_file = ("taskmgr_app", "app_db_password") if app else ("taskmgr", "pg-password")
    result = pg_client(name, args, stack.ports["LOCAL_PG_PORT"], user,
                       (stack.data_dir / password_file).read_text().strip(), superuser=not app)
    assert result.returncode == 0, f"{name} {args}: {result.stderr}"
    return result.stdout


def forged_backup(stack, backup, out, *changes):
    """A copy of `backup` with SQL `changes` applied: restored into a throwaway database, changed, dumped, all as
    the backend's role (so nothing planted in the backup runs as superuser here)."""
    pg_tool(stack, "createdb", "-O", "taskmgr_app", "forge")
    try:
        pg_tool(stack, "pg_restore", "--no-owner", "--exit-on-error", "-d", "forge", str(backup), app=True)
        for change in changes:
            superuser_sql(stack, "forge", change, app=True)
        pg_tool(stack, "pg_dump", "--format=custom", "-d", "forge", "-f", str(out), app=True)
    finally:
        pg_tool(stack, "dropdb", "forge")
    return out


def older_backup(stack, backup, name="older.dump"):
    """`backup` as the previous schema version made it: the latest migration's down.sql, its version removed."""
    down = (ROOT / f"crates/backend-api/migrations/{LATEST_DIR}/down.sql").read_text()
    return forged_backup(stack, backup, stack.log_dir / name, down,
                         f"DELETE FROM __diesel_schema_migrations WHERE version = '{LATEST}'")


def leftovers(stack):
    """Restore roles or scratch databases left behind (none after any restore, failed or not)."""
    return superuser_sql(stack, "postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'taskmgr\\_restore%' "
                                            "UNION ALL SELECT rolname FROM pg_roles WHERE rolname LIKE 'taskmgr\\_restore%'")


def backup_of(stack, name="tasks.dump"):
    path = stack.log_dir / name
    result = deploy(stack, "backup", "--local", name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"backup: {path} ({len(TASKS)} tasks, schema version {LATEST}" in result.stdout, result.stdout
    return path


def refused(result, *fragments):
    """A refusal: exit 1, one line on stderr that says why (and nothing after it)."""
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    for fragment in (*fragments, "nothing was changed"):
        assert fragment in last, f"{fragment!r} not in {last!r}\n{result.stderr}"


def test_local_backup_survives_a_new_data_folder_refusals_change_nothing_and_force_replaces_the_tasks(stack):
    """A backup restored into a new data folder (a stopped stack is named as such); once tasks exist, a restore
    without --force, damaged files and a newer backup are refused and change nothing; --force replaces the tasks;
    an older backup is migrated."""
    stack.start()
    before = seed(stack)
    assert len(before) == len(TASKS) and any(t["completed"] and t["updated_at"] != t["created_at"] for t in before)
    backup = backup_of(stack)
    again = deploy(stack, "backup", "--local", "tasks.dump")
    assert again.returncode == 1 and "exists" in again.stderr and backup.stat().st_size > 0
    stack.ctrl_c()
    for args in (("backup", "--local"), ("restore", "x.dump", "--local")):  # a stopped stack: say how to start it
        result = deploy(stack, *args)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "the local PostgreSQL is not running" in result.stderr and "./deploy.sh local" in result.stderr
    assert not list(stack.log_dir.glob("taskmgr-backup-*"))
    shutil.rmtree(stack.data_dir)  # destroy the data: a new, empty data folder (the backend migrates it)
    stack.data_dir.mkdir()
    stack.data_dir.chmod(0o755)
    stack.start()
    assert "initialising" in stack.log.read_text() and all_tasks(stack) == []
    result = deploy(stack, "restore", str(backup), "--local")
    assert f"restored: {len(TASKS)} tasks from {backup} (they replaced 0)" in result.stdout, result.stdout + result.stderr
    assert all_tasks(stack) == before, "every field of every task comes back, ids and times included"
    # Tasks exist now: a restore without --force refuses and says how many and how to force; --force replaces.
    extra = api(stack, "POST", "/tasks", {"title": "made after the backup"}, expect=201)
    api(stack, "PATCH", f"/tasks/{before[0]['id']}", {"title": "changed after the backup"})
    changed = all_tasks(stack)
    refused(deploy(stack, "restore", "tasks.dump", "--local"), f"holds {len(TASKS) + 1} tasks", "--force")
    data = backup.read_bytes()
    cases = {
        # Cut in the rows (the last 100 bytes), and cut in the table of contents: both found before any change.
        "cut.dump": (data[:-100], "is incomplete or damaged"),
        "head.dump": (data[:200], "is not a pg_dump archive"),
        "notes.txt": (b"these are not the tasks\n", "is not a pg_dump archive"),
    }
    for name, (content, message) in cases.items():
        (stack.log_dir / name).write_bytes(content)
        refused(deploy(stack, "restore", name, "--force", "--local"), name, message)
    refused(deploy(stack, "restore", "no-such.dump", "--force", "--local"), "no such file", "no-such.dump")
    future = forged_backup(stack, backup, stack.log_dir / "future.dump",
                           "INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000000')")
    refused(deploy(stack, "restore", str(future), "--force", "--local"), "made by a newer taskmgr", "29991231000000")
    oversized = forged_backup(stack, backup, stack.log_dir / "oversized.dump",
                              "ALTER TABLE tasks DROP CONSTRAINT tasks_description_length",
                              "UPDATE tasks SET description = repeat('a', 10001) WHERE title = 'Water the plants'")
    result = deploy(stack, "restore", str(oversized), "--force", "--local")
    refused(result, "could not load the backup's rows")
    assert "tasks_description_length" in result.stderr, result.stderr
    assert all_tasks(stack) == changed
    assert leftovers(stack) == ""
    result = deploy(stack, "restore", "--force", "--local", "tasks.dump")
    assert result.returncode == 0, result.stdout + result.stderr
    assert all_tasks(stack) == before
    api(stack, "GET", f"/tasks/{extra['id']}", expect=404)

    older = older_backup(stack, backup)
    icu_title = 'COLLATE pg_catalog."und-x-icu"'
    assert icu_title in pg_tool(stack, "pg_restore", "--schema-only", "-f", "-", str(backup)), "the control"
    assert icu_title not in pg_tool(stack, "pg_restore", "--schema-only", "-f", "-", str(older)), "an older schema"
    api(stack, "DELETE", f"/tasks/{before[0]['id']}")
    result = deploy(stack, "restore", "older.dump", "--force", "--local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"migrating the backup's rows: {LATEST_DIR}" in result.stdout, result.stdout
    assert "skipped" not in result.stdout, "a backup of taskmgr's own schema has nothing to skip"
    assert all_tasks(stack) == before
    versions = superuser_sql(stack, "taskmgr",
                             "SELECT version FROM public.__diesel_schema_migrations ORDER BY 1").split()
    assert versions == [name.split("_")[0].replace("-", "") for name in MIGRATIONS] and versions[-1] == LATEST
    assert superuser_sql(stack, "taskmgr", "SELECT collname FROM pg_attribute JOIN pg_collation ON oid = attcollation "
                                           "WHERE attrelid = 'public.tasks'::regclass AND attname = 'title'"
                         ).strip() == "und-x-icu"
    # The restored rows are the backend's as before: it can change them, and search them (the trigram index).
    plants = next(t for t in before if t["title"] == "Water the plants")
    api(stack, "PATCH", f"/tasks/{plants['id']}", {"completed": True})
    assert [t["id"] for t in api(stack, "GET", "/tasks?q=plants")] == [plants["id"]]


def test_planted_code_never_runs_as_superuser_and_is_skipped_by_name(stack):
    """The app role plants operators and functions that match the restore's expressions, a trigger and an
    index expression on tasks, and a materialized view calling a function; a clean backup, a backup holding
    them, and an older version's backup holding them are restored: none of that code runs as superuser, the
    restore names what it skipped, and the tasks come back."""
    stack.start()
    before = seed(stack)
    clean = backup_of(stack, "clean.dump")
    superuser_sql(stack, "taskmgr", PLANT + RESTORE_PLANT, app=True)
    planted = backup_of(stack, "planted.dump")
    older = older_backup(stack, planted, "older-planted.dump")
    escalated = escalation(lambda sql: superuser_sql(stack, "taskmgr", sql))
    for dump in (clean, planted, older):
        api(stack, "DELETE", f"/tasks/{before[0]['id']}")
        result = deploy(stack, "restore", str(dump), "--force", "--local")
        assert result.returncode == 0, result.stdout + result.stderr
        assert all_tasks(stack) == before, dump.name
        assert escalation(lambda sql: superuser_sql(stack, "taskmgr", sql)) == escalated, dump.name
        if dump != clean:
            for name in ("planted_view", "planted_index", "planted_key(text)", "tasks planted_trigger",
                         "planted_ran()", "OPERATOR public ="):
                assert name in result.stdout.split("skipped", 1)[-1], (name, result.stdout)
    assert leftovers(stack) == ""


def test_api_reads_answer_while_a_restore_waits_for_its_lock(stack):
    """An open transaction on tasks holds the restore's lock off (it is seen waiting); meanwhile reads still
    answer within a try, and the restore goes through once the transaction ends."""
    stack.start()
    before = seed(stack)
    backup = backup_of(stack)
    blocker = subprocess.Popen([str(postgres_bin() / "psql"), "-X", "-q", "-h", "127.0.0.1", "-p",
                                str(stack.ports["LOCAL_PG_PORT"]), "-U", "taskmgr_app", "-d", "taskmgr"],
                               stdin=subprocess.PIPE, text=True, env={**os.environ, "PGPASSWORD": (
                                   stack.data_dir / "app_db_password").read_text().strip()})
    blocker.stdin.write("BEGIN; SELECT count(*) FROM tasks;\n")
    blocker.stdin.flush()
    restore = deploy(stack, "restore", str(backup), "--force", "--local", wait=False)
    waiting = ("SELECT count(*) FROM pg_locks WHERE relation = 'public.tasks'::regclass "
               "AND mode = 'AccessExclusiveLock' AND NOT granted")
    deadline = time.monotonic() + 60
    while superuser_sql(stack, "taskmgr", waiting).strip() == "0":  # past its checks, the restore waits for the lock
        assert restore.poll() is None and time.monotonic() < deadline, "the restore never waited for the tasks lock"
        time.sleep(0.05)
    waits = []
    for _ in range(6):
        start = time.monotonic()
        assert len(all_tasks(stack)) == len(TASKS)
        waits.append(time.monotonic() - start)
        time.sleep(0.3)
    blocker.communicate("COMMIT;\n", timeout=30)
    output = restore.communicate(timeout=COMMAND_TIMEOUT)[0]
    assert max(waits) < 1.5, f"reads waited {waits}"
    assert restore.returncode == 0 and "restored:" in output, output
    assert all_tasks(stack) == before


def test_two_restores_at_once_both_succeed(stack):
    stack.start()
    before = seed(stack)
    backup = backup_of(stack)
    runs = [deploy(stack, "restore", str(backup), "--force", "--local", wait=False) for _ in range(2)]
    outputs = [run.communicate(timeout=COMMAND_TIMEOUT)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert all_tasks(stack) == before and leftovers(stack) == ""


def test_backup_never_follows_or_reuses_a_planted_partial_file(stack, tmp_path):
    """In a folder anyone may write to (mode 1777): a symlink and a mode-0666 file where the backup once wrote
    FILE.partial are left alone, the backup is mode 600, and a dangling symlink at FILE is refused."""
    stack.start()
    seed(stack)
    shared, victim = tmp_path / "shared", tmp_path / "victim"
    shared.mkdir()
    shared.chmod(0o1777)
    victim.write_text("not a backup")
    (shared / "a.dump.partial").symlink_to(victim)
    (shared / "b.dump.partial").write_text("planted")
    (shared / "b.dump.partial").chmod(0o666)
    (shared / "c.dump").symlink_to(tmp_path / "nowhere")
    for name in ("a.dump", "b.dump"):
        result = deploy(stack, "backup", "--local", str(shared / name))
        assert result.returncode == 0, result.stdout + result.stderr
        assert (shared / name).stat().st_mode & 0o777 == 0o600, name
    assert victim.read_text() == "not a backup" and (shared / "b.dump.partial").read_text() == "planted"
    result = deploy(stack, "backup", "--local", str(shared / "c.dump"))
    assert result.returncode == 1 and not (tmp_path / "nowhere").exists(), result.stderr
    assert sorted(p.name for p in shared.iterdir()) == ["a.dump", "a.dump.partial", "b.dump", "b.dump.partial",
                                                       "c.dump"]
