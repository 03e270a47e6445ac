"""pgAdmin's settings as pgAdmin reads them: the login address deploy.sh accepts (PGADMIN_EMAIL) is one pgAdmin's
own check accepts, and servers.json carries its connection settings where current pgAdmin reads them, the
search_path pin among them (checked on a real PostgreSQL).

pgAdmin checks the address with email-validator (pgadmin/utils/validation_utils.py: validate_email with
check_deliverability False, special-use domains refused unless ALLOW_SPECIAL_EMAIL_DOMAINS lists them, which the
deployment does not). The whole pgadmin4 package (a 126 MB wheel and some fifty Flask dependencies) is not
installed for this: email-validator, pinned in requirements.txt, is called the way pgAdmin calls it.
"""
import json
import re
import subprocess

from conftest import ROOT, SUPERUSER_PGOPTIONS, by_name, pg_client
from planted import PLANT, escalation
from test_app_role import SUPERUSER_PASSWORD, cluster  # noqa: F401 (cluster: a fixture)

try:
    import email_validator  # noqa: F811
except ImportError:  # a missing prerequisite fails, never skips
    email_validator = None

DEPLOY = (ROOT / "deploy.sh").read_text()
ADDRESSES = ["admin@example.com", "dba.team+pgadmin@db.example.org", "o'neil@example.co.uk", "admin@taskmgr.local",
             "admin@pgadmin.localhost", "a@b.test", "x@site.onion", "x@in-addr.arpa", "me@host.invalid",
             "admin@localhost", "no-at-sign.example.com", "a..b@example.com", ".a@example.com", "a@-bad.example.com",
             "a@example", "a b@example.com", "a@example.com."]


def pgadmin_accepts(address):
    """pgAdmin's validate_email(address) with its default configuration."""
    assert email_validator, "email-validator is missing: pip install -r tests/infra/requirements.txt (.ci/run does)"
    try:
        email_validator.validate_email(address, check_deliverability=False)
        return True
    except email_validator.EmailNotValidError:
        return False


def deploy_sh_accepts(address):
    """deploy.sh's check_pgadmin_email, taken from deploy.sh and run by bash."""
    function = re.search(r"^check_pgadmin_email\(\) \{\n.*?^\}\n", DEPLOY, re.S | re.M).group(0)
    domains = re.search(r"^PGADMIN_SPECIAL_USE_DOMAINS=.*$", DEPLOY, re.M).group(0)
    script = f'die() {{ echo "$*" >&2; exit 1; }}\n{domains}\n{function}\ncheck_pgadmin_email "$1"\n'
    return subprocess.run(["bash", "-c", script, "check", address], capture_output=True).returncode == 0


def test_deploy_sh_refuses_every_address_pgadmin_refuses():
    verdicts = {a: (deploy_sh_accepts(a), pgadmin_accepts(a)) for a in ADDRESSES}
    wrong = {a: v for a, v in verdicts.items() if v[0] and not v[1]}
    assert not wrong, f"deploy.sh accepts what pgAdmin refuses (it would crash-loop): {wrong}"
    assert verdicts["admin@example.com"] == (True, True)
    assert sum(ok for ok, _ in verdicts.values()) >= 3, "the check is not so strict that real addresses fail"


def test_the_special_use_domains_are_email_validators():
    listed = re.search(r"^PGADMIN_SPECIAL_USE_DOMAINS=\((.*)\)$", DEPLOY, re.M).group(1).split()
    assert email_validator, "email-validator is missing: pip install -r tests/infra/requirements.txt (.ci/run does)"
    assert sorted(listed) == sorted(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def registered_server():
    [server] = json.loads(by_name("ConfigMap", "pgadmin")["data"]["servers.json"])["Servers"].values()
    return server


def test_servers_json_sets_the_timeout_and_ssl_mode_where_pgadmin_reads_them():
    """pgAdmin's server import (pgadmin/utils/__init__.py, load_servers) takes a server's libpq settings from
    ConnectionParameters when it is present and then ignores the older top-level keys (SSLMode, Timeout);
    "ConnectionTimeout" was never read. Its options are the scripts' superuser PGOPTIONS."""
    server = registered_server()
    assert server["ConnectionParameters"] == {"sslmode": "prefer", "connect_timeout": 10,
                                              "options": SUPERUSER_PGOPTIONS}
    ignored = {"SSLMode", "Timeout", "ConnectionTimeout", "HostAddr", "PassFile", "SSLCert", "SSLKey", "SSLRootCert",
               "SSLCrl", "SSLCompression"}
    assert not ignored & set(server), f"ignored by pgAdmin: {sorted(ignored & set(server))}"


def pgadmin_conninfo(server, host, port, password):
    """The libpq connection string pgAdmin opens for a registered server. Its ServerManager.create_connection_string
    (pgadmin/utils/driver/psycopg3/server_manager.py) sets host, port, dbname, user and password, then adds each
    ConnectionParameters item, and joins them with psycopg's make_conninfo, whose quoting this copies."""
    def quoted(value):
        value = re.sub(r"([\\'])", r"\\\1", str(value))
        return f"'{value}'" if not value or re.search(r"\s", value) else value
    settings = {"host": host, "port": port, "dbname": server["MaintenanceDB"], "user": server["Username"],
                "password": password, **server["ConnectionParameters"]}
    return " ".join(f"{key}={quoted(value)}" for key, value in settings.items())


def test_a_pgadmin_session_runs_none_of_the_code_the_backends_role_planted(cluster):  # noqa: F811
    """pgAdmin connects as the superuser, and the backend's role owns public. On a real PostgreSQL, the role plants
    a quote_ident(name) that matches better than pg_catalog's quote_ident(text); a session opened as pgAdmin opens
    it, with servers.json's settings, has its search_path pinned and calls PostgreSQL's own."""
    server = registered_server()
    db = cluster.new_database(server["MaintenanceDB"])
    assert cluster.run_role_sql(db, "app_pgadmin", "pgadmin-app-password").returncode == 0
    cluster.psql(db, PLANT, user="app_pgadmin", password="pgadmin-app-password")
    before = escalation(lambda sql: cluster.psql(db, sql).stdout)
    conninfo = pgadmin_conninfo(server, "127.0.0.1", cluster.port, SUPERUSER_PASSWORD)
    session = pg_client("psql", ["-X", "-tA", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", "SHOW search_path",
                                 "-c", "SELECT quote_ident(rolname) FROM pg_roles WHERE rolname = current_user"],
                        cluster.port, server["Username"])
    assert session.returncode == 0, session.stderr
    assert escalation(lambda sql: cluster.psql(db, sql).stdout) == before
    assert cluster.psql(db, "SELECT count(*) FROM public.planted_runs").stdout.strip() == "0", "planted code ran"
    search_path, ident = session.stdout.splitlines()
    assert (search_path.replace(" ", ""), ident) == ("pg_catalog,pg_temp", server["Username"])


def test_the_image_writes_its_own_config_distro_with_the_binary_paths():
    """The image's config_distro.py (DEFAULT_BINARY_PATHS for Backup, Restore and PSQL) is written by its entrypoint
    into an empty file at PGADMIN_CUSTOM_CONFIG_DISTRO_FILE: no file of ours replaces it, and the container makes
    that file empty, in a writable volume, before it runs the image's entrypoint."""
    deployment = by_name("Deployment", "pgadmin")
    pod = deployment["spec"]["template"]["spec"]
    [main] = pod["containers"]
    env = {e["name"]: e.get("value") for e in main["env"]}
    path = env["PGADMIN_CUSTOM_CONFIG_DISTRO_FILE"]
    mounts = {m["mountPath"]: m for m in main["volumeMounts"]}
    assert not any(m.endswith("config_distro.py") for m in mounts), "the image's config_distro.py is never replaced"
    directory = path.rsplit("/", 1)[0]
    volume = next(v for v in pod["volumes"] if v["name"] == mounts[directory]["name"])
    assert "emptyDir" in volume
    assert main["command"][:2] == ["/bin/sh", "-c"]
    assert main["command"][2] == f": >{path} && exec /entrypoint.sh"
    assert env["PGADMIN_CONFIG_UPGRADE_CHECK_ENABLED"] == "False"


def test_the_image_tag_is_written_once():
    """One place, the Deployment's image (9.17 or later: older releases have known vulnerabilities); the tests and
    the checkov annotations read it or leave it out."""
    image = by_name("Deployment", "pgadmin")["spec"]["template"]["spec"]["containers"][0]["image"]
    repository, tag = image.split(":")
    assert repository == "dpage/pgadmin4" and tuple(map(int, tag.split("."))) >= (9, 17)
    places = [str(p.relative_to(ROOT)) for p in [*(ROOT / "kubernetes").rglob("*.yaml"), *(ROOT / "tests").rglob("*.py")]
              for _ in re.findall(r"pgadmin4:\d", p.read_text())]
    assert places == ["kubernetes/extras/pgadmin/pgadmin.yaml"], places
