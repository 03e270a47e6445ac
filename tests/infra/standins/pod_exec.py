"""`kubectl exec` into the postgres pod, run against a real PostgreSQL on 127.0.0.1. Like kubectl it refuses another
target, container or namespace, a command without `--`, and gives stdin only with -i; the command gets the pod's
environment and runs as the postgres user when root, as the pod runs UID 70."""
import os
import subprocess
import sys
from pathlib import Path

NAMESPACE = "task-manager"
VALUED = ("--context", "--namespace", "-n", "-l", "--selector", "-o", "--timeout", "-c", "--container")


def flag_value(argv, name):
    """The value of `name VALUE` or `name=VALUE` in argv, or None."""
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def words_of(argv):
    """The positional words of a kubectl command line (flags and the values of VALUED flags left out)."""
    words, skip = [], False
    for arg in argv:
        words += [] if skip or arg.startswith("-") else [arg]
        skip = arg in VALUED and not skip
    return words


def kubectl_exec(argv, port, pg_bin):
    """argv: kubectl's arguments (flags included). The pod's PostgreSQL: 127.0.0.1:port, superuser taskmgr (trusted),
    database postgres, programs in pg_bin. Returns the command's exit status; exits as kubectl does on an error."""
    if "--" not in argv:
        sys.exit("error: exec needs the command after --, e.g. kubectl exec deploy/postgres -- sh")
    head, command = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    namespace = flag_value(head, "--namespace") or flag_value(head, "-n") or "default"
    target = (words_of(head) + ["", ""])[1]
    container = flag_value(head, "-c") or flag_value(head, "--container") or "postgres"
    if namespace != NAMESPACE or target != "deploy/postgres":
        kind = "deployments.apps" if "/" in target else "pods"
        sys.exit(f'Error from server (NotFound): {kind} "{target.split("/")[-1]}" not found')
    if container != "postgres":
        sys.exit(f"error: container {container} is not valid for pod postgres-0")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(POSTGRES_USER="taskmgr", POSTGRES_PASSWORD="", POSTGRES_DB="postgres", PGHOST="127.0.0.1",
               PGPORT=str(port), PGPASSFILE="/nonexistent", PATH=f"{pg_bin}:{env['PATH']}")
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    stdin = sys.stdin.buffer if {"-i", "--stdin", "--stdin=true"} & set(head) else subprocess.DEVNULL
    return subprocess.run(command, stdin=stdin, env=env, cwd=Path("/")).returncode
