"""`./deploy.sh local` for real: PostgreSQL, the release builds of backend-api and frontend, the UI answering,
Ctrl-C (SIGINT to the process group, as a terminal sends it) stopping all three, also when the output went through
a `tee` that Ctrl-C stopped first, and the tasks of a data folder (one of an older version) surviving a restart of the
command. Only 127.0.0.1 is contacted; every wait is bounded."""
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, assert_cannot_escalate, free_ports, owners_in_public, pg_client, stack_sh

BUILD_AND_START_TIMEOUT = 1200  # the first run compiles both release binaries
STOP_TIMEOUT = 30


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class LocalStack:
    def __init__(self, data_dir, log_dir):
        self.ports = dict(zip(("LOCAL_UI_PORT", "LOCAL_API_PORT", "LOCAL_PG_PORT"), free_ports(3)))
        self.data_dir, self.log_dir = data_dir, log_dir
        self.process, self.tee, self.runs = None, None, 0
        self.ui = f"http://127.0.0.1:{self.ports['LOCAL_UI_PORT']}"

    def psql(self, database, sql, user="taskmgr", password=None, check=True):
        """sql as user over TCP (stdout: unaligned tuples), never prompting; password None: the superuser's, from its
        file (none in a data folder of an older version, which trusts every connection); "": none."""
        if password is None and (self.data_dir / "pg-password").exists():
            password = (self.data_dir / "pg-password").read_text().strip()
        result = pg_client("psql", ["-X", "-q", "-w", "-tA", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql],
                           self.ports["LOCAL_PG_PORT"], user, password, superuser=user == "taskmgr")
        assert result.returncode == 0 or not check, f"{user}: {sql}\n{result.stderr}"
        return result

    def start(self, through_tee=False):
        """`./deploy.sh local`, its output in a log; through_tee: as `./deploy.sh local | tee LOG`, a pipe that
        Ctrl-C closes (tee stops at once, before the command's own clean-up)."""
        for tool in ("cargo", "curl"):
            assert shutil.which(tool), f"./deploy.sh local needs {tool} (cargo: rustup; curl: apt-get install curl)"
        self.runs += 1
        self.log = self.log_dir / f"deploy-local-{self.runs}.log"
        env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}, "TASKMGR_LOCAL_DATA": str(self.data_dir)}
        with open(self.log, "w") as out:
            self.process = subprocess.Popen([str(ROOT / "deploy.sh"), "local"], cwd=ROOT, env=env,
                                            stdin=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                            stdout=subprocess.PIPE if through_tee else out, start_new_session=True)
        if through_tee:
            self.tee = subprocess.Popen(["tee", str(self.log)], stdin=self.process.stdout, stdout=subprocess.DEVNULL)
            self.process.stdout.close()  # tee is the only reader
        deadline = time.monotonic() + BUILD_AND_START_TIMEOUT
        while "taskmgr is running locally" not in self.log.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"./deploy.sh local not up within {BUILD_AND_START_TIMEOUT} s, exit status "
                            f"{self.process.poll()}:\n{self.tail()}")
            time.sleep(1)
        self.assert_database_requires_the_password()

    def assert_database_requires_the_password(self):
        """No connection without the password, which is random and in a mode-600 file (as is the backend role's); no
        trust line in pg_hba.conf."""
        for password_file in (self.data_dir / "pg-password", self.data_dir / "app_db_password"):
            assert password_file.stat().st_mode & 0o777 == 0o600 and len(password_file.read_text().strip()) >= 32
        for password, error in (("", "no password supplied"), ("not-the-password", "password authentication failed")):
            refused = self.psql("taskmgr", "select 1", password=password, check=False)
            assert refused.returncode != 0 and error in refused.stderr, refused.stderr
        assert self.psql("taskmgr", "select 1").stdout.strip() == "1"
        hba = (self.data_dir / "pgdata" / "pg_hba.conf").read_text()
        assert not re.search(r"^[^#]*\strust\b", hba, re.M), "no trust line may remain in pg_hba.conf"

    def ctrl_c(self):
        if self.tee:
            self.tee.kill()
            self.tee.wait(timeout=STOP_TIMEOUT)
            self.tee = None
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            status = self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"./deploy.sh local did not stop within {STOP_TIMEOUT} s of Ctrl-C:\n{self.tail()}")
        assert not any(port_open(port) for port in self.ports.values()), f"a port of {self.ports} open after Ctrl-C"
        assert not (self.data_dir / "pgdata" / "postmaster.pid").exists(), "PostgreSQL still running after Ctrl-C"
        return status

    def tail(self):
        logs = "".join(f"\n--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(self.data_dir.glob("*.log")))
        return self.log.read_text()[-4000:] + logs

    def kill_leftovers(self):
        """What a failed run left: tee, the command's process group (the services are in it) and PostgreSQL."""
        if self.tee:
            self.tee.kill()
        if self.process:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=STOP_TIMEOUT)
        stack_sh('STACK_PG_DATA="$1" && stack_stop', self.data_dir / "pgdata")


@pytest.fixture
def stack(tmp_path):
    # As root, PostgreSQL runs as the postgres user, which must reach the data directory: not pytest's tmp_path.
    data_dir = Path(tempfile.mkdtemp(prefix="taskmgr-deploy-local-", dir="/var/tmp"))
    data_dir.chmod(0o755)
    local = LocalStack(data_dir, tmp_path)
    try:
        yield local
    finally:
        local.kill_leftovers()
        shutil.rmtree(data_dir, ignore_errors=True)


def test_an_older_data_folder_gets_a_password_and_a_role_and_is_kept_across_ctrl_c_and_restarts(stack):
    """A data folder of an older `./deploy.sh local`: `initdb --auth=trust`, and the tables, sequence, type and
    function the superuser made before the backend had a role of its own. The next start sets a password and
    requires it, hands them all to the role (db/app-role.sql, as every deploy path runs it), and the backend serves
    the old data and docs/API.md's examples as that role, which cannot escalate. Ctrl-C stops all three; the next
    run reuses the folder. (The default data folder, .local/deploy-local, is git-ignored.)"""
    ignored = subprocess.run(["git", "check-ignore", "-q", ".local/deploy-local/pgdata"], cwd=ROOT)
    assert ignored.returncode == 0, ".local/deploy-local must be git-ignored"
    pgdata = stack.data_dir / "pgdata"
    stack_sh('stack_init_postgres "$1" "$2" "" && stack_start_postgres "$1" "$3" "$1.log"', pgdata, "taskmgr",
             stack.ports["LOCAL_PG_PORT"])
    stack.psql("postgres", "CREATE DATABASE taskmgr")
    ups = sorted((ROOT / "crates" / "backend-api" / "migrations").glob("*/up.sql"))
    versions = ", ".join(f"('{up.parent.name.replace('-', '').split('_')[0]}')" for up in ups)
    # As an older deploy.sh did it: the superuser made everything in public (a fresh cluster, nothing planted yet).
    stack.psql("taskmgr", "SET search_path = public;\n" + "\n".join(up.read_text() for up in ups) + f"""
        CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY,
                                                 run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP);
        INSERT INTO __diesel_schema_migrations (version) VALUES {versions};
        CREATE TABLE legacy_counter (id serial PRIMARY KEY);
        CREATE FUNCTION legacy_touch() RETURNS integer LANGUAGE sql AS 'SELECT 1';
        INSERT INTO tasks (id, title) VALUES ('00000000-0000-4000-8000-000000000001', 'made before the role');""")
    assert set(owners_in_public(stack, "taskmgr").values()) == {"taskmgr", "pg_database_owner"}
    stack_sh('STACK_PG_DATA="$1" && stack_stop', pgdata)

    stack.start()
    assert "trusted local connections: setting a password" in stack.log.read_text()
    password = (stack.data_dir / "app_db_password").read_text()
    owners = owners_in_public(stack, "taskmgr")
    assert set(owners.values()) == {"taskmgr_app"} and {"r tasks", "r __diesel_schema_migrations",
                                                         "S legacy_counter_id_seq", "type task_priority",
                                                         "function legacy_touch"} <= set(owners), owners
    assert_the_api_examples_do_what_docs_api_says(stack)
    sessions = "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'taskmgr' AND pid <> pg_backend_pid()"
    assert stack.psql("taskmgr", sessions).stdout.split() == ["taskmgr_app"], "the backend connects as its role"
    stack.psql("taskmgr", "INSERT INTO legacy_counter DEFAULT VALUES", user="taskmgr_app", password=password)
    assert_cannot_escalate(stack, "taskmgr", "taskmgr_app", password)

    assert stack.ctrl_c() == 130, "an interrupted command exits 128 + SIGINT"
    assert "stopping taskmgr" in stack.log.read_text()

    stack.start(through_tee=True)
    assert "initialising" not in stack.log.read_text(), "the second run must reuse the data folder"
    assert (stack.data_dir / "app_db_password").read_text() == password, "the next run keeps the role's password"
    status, page = http("GET", stack.ui + "/")
    assert status == 200 and "· taskmgr</title>" in page and "made before the role" in page, page[:300]
    stack.ctrl_c()


API_DOC = ROOT / "docs" / "API.md"


def api_examples():
    """(expected status, expected JSON fragment or None, command) for each curl line of docs/API.md's examples."""
    section = API_DOC.read_text().split("## Examples", 1)[1].split("\n## ", 1)[0]
    examples, comment = [], ""
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            if line.startswith("#"):
                comment = line
            elif line.startswith("curl "):
                status = re.search(r"→ (\d{3})", comment)
                assert status, f"docs/API.md: say the expected status (→ NNN) above: {line}"
                fragment = re.search(r"(\{.*\})", comment)
                examples.append((int(status.group(1)), json.loads(fragment.group(1)) if fragment else None, line))
    return examples


def assert_the_api_examples_do_what_docs_api_says(stack):
    examples = api_examples()
    assert len(examples) >= 6, "docs/API.md's examples should show list, create, read, update, filter, delete"
    api = f"http://127.0.0.1:{stack.ports['LOCAL_API_PORT']}"
    task_id = None
    for status, fragment, command in examples:
        command = command.replace("http://localhost:30080", stack.ui).replace("http://localhost:5000", api)
        if "<id>" in command:
            assert task_id, f"an example uses <id> before one was created: {command}"
            command = command.replace("<id>", task_id)
        result = subprocess.run(["bash", "-c", command + " -w '\\n%{http_code}'"], capture_output=True, text=True,
                                timeout=30)
        body, _, code = result.stdout.rpartition("\n")
        assert result.returncode == 0 and int(code) == status, f"{command}\n-> {code} {body}"
        if "openapi" in command or "/metrics" in command:
            continue
        data = json.loads(body)
        if isinstance(data, dict) and "id" in data and "-X POST" in command:
            task_id = data["id"]
        for key, value in (fragment or {}).items():
            assert key in data and value in ("...", data[key]), f"{command}\n-> {body} lacks {key}: {value}"
