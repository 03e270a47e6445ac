"""The GitHub test job's order, run here: `.ci/run --install-only` as root under sudo, then the tests as an
unprivileged user, who must be able to write everything the install created in the tree.

As root (our own CI), the test makes a copy of the tree owned by an unprivileged user (ci-runner, created with
useradd if missing and removed again), runs `.ci/run --install-only` in it as root with SUDO_UID/SUDO_GID set
as sudo sets them, then runs the browser stage (scripts/test-browser.sh, which writes .local/screenshots) as
that user and checks that nothing in the copy is left to root. One stand-in: the user's `cargo` only checks that
the debug binaries built beforehand are there (root's Rust toolchain is in /root, which other users cannot
read; on GitHub the runner user has its own). To keep it to a few minutes, the tree's venvs are copied into the
copy first (root-owned, as a root install leaves them), so .ci/run only checks them, as on a second run.
As another user (GitHub's test job, after its `sudo bash .ci/run --install-only` step), the install already
happened: the test checks that what it created in this tree belongs to the current user.
"""
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT

USER = "ci-runner"
CREATED = (".local", ".local/infra-venv", ".local/fuzz-venv", ".local/docker-venv", "e2e/node_modules")
INSTALL_TIMEOUT = 1200
BROWSER_TIMEOUT = 600

STAND_IN_CARGO = """#!/bin/sh
# Stand-in cargo for test_ci_run_user.py: the debug binaries were built beforehand, by root's toolchain.
[ "$1" = build ] || { echo "cargo stand-in: only 'build' is supported, got: $*" >&2; exit 101; }
for bin in backend-api frontend; do
  [ -x "$CARGO_TARGET_DIR/debug/$bin" ] || { echo "cargo stand-in: $CARGO_TARGET_DIR/debug/$bin missing" >&2; exit 101; }
done
"""


def not_owned_by(tree, uid, paths):
    """Files under the given paths of tree (recursively) whose owner is not uid, as text."""
    result = subprocess.run(["find", *[str(tree / p) for p in paths if (tree / p).exists()], "-not", "-uid",
                             str(uid), "-printf", "%u %p\n"], capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def copy_tree(destination):
    """The tracked and untracked-but-not-ignored files of the working tree, as a checkout would have them."""
    files = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True).stdout
    existing = b"\0".join(f for f in files.split(b"\0") if f and (ROOT / f.decode()).exists())
    subprocess.run(["tar", "--null", "-T", "-", "-cf", "-"], cwd=ROOT, input=existing, check=True,
                   stdout=open(destination / "tree.tar", "wb"))
    tree = destination / "tree"
    tree.mkdir()
    subprocess.run(["tar", "-xf", str(destination / "tree.tar"), "-C", str(tree)], check=True)
    (destination / "tree.tar").unlink()
    return tree


@pytest.fixture
def runner_user():
    created = False
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/bash", USER], check=True)
        created = True
    try:
        yield pwd.getpwnam(USER)
    finally:
        if created:
            subprocess.run(["userdel", USER], check=True)


def seed_venvs(tree):
    """This tree's venvs, copied in as root (as a root install makes them): .ci/run then only checks their
    pinned requirements, as on its second run, instead of downloading them again (minutes)."""
    for venv in ("infra-venv", "fuzz-venv", "docker-venv"):
        if (ROOT / ".local" / venv).is_dir():
            (tree / ".local").mkdir(exist_ok=True)
            subprocess.run(["cp", "-a", str(ROOT / ".local" / venv), str(tree / ".local" / venv)], check=True)


def as_root_then_as_user(user, debug_dir):
    work = Path(tempfile.mkdtemp(prefix="ci-run-user-", dir="/var/tmp"))
    try:
        work.chmod(0o755)
        tree = copy_tree(work)
        subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(tree)], check=True)
        seed_venvs(tree)
        (work / "target" / "debug").mkdir(parents=True)
        for name in ("backend-api", "frontend"):
            shutil.copy2(debug_dir / name, work / "target" / "debug" / name)
        (work / "bin").mkdir()
        (work / "bin" / "cargo").write_text(STAND_IN_CARGO)
        (work / "bin" / "cargo").chmod(0o755)
        (work / "home").mkdir()
        shutil.chown(work / "home", user.pw_uid, user.pw_gid)

        sudo_env = {**os.environ, "SUDO_UID": str(user.pw_uid), "SUDO_GID": str(user.pw_gid), "SUDO_USER": USER}
        install = subprocess.run(["bash", ".ci/run", "--install-only"], cwd=tree, env=sudo_env,
                                 capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]

        user_env = ["env", "-i", f"HOME={work / 'home'}", f"USER={USER}", f"CARGO_TARGET_DIR={work / 'target'}",
                    f"PATH={work / 'bin'}:/usr/local/bin:/usr/bin:/bin"]
        if os.environ.get("CHROMIUM"):
            user_env.append(f"CHROMIUM={os.environ['CHROMIUM']}")
        browser = subprocess.run(["runuser", "-u", USER, "--", *user_env, "scripts/test-browser.sh"], cwd=tree,
                                 capture_output=True, text=True, timeout=BROWSER_TIMEOUT)
        assert browser.returncode == 0, (
            f"the browser stage failed as {USER} after a root install:\n{browser.stdout[-3000:]}{browser.stderr[-3000:]}")
        assert list((tree / ".local" / "screenshots").glob("*.png")), "the browser stage wrote no screenshot"
        left_to_others = not_owned_by(tree, user.pw_uid, CREATED)
        assert not left_to_others, "the install left these to another user:\n" + "\n".join(left_to_others[:20])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_tests_run_as_the_invoking_user_after_a_root_install(request):
    if os.geteuid() != 0:
        uid = os.geteuid()
        assert all((ROOT / p).exists() for p in CREATED), "run `sudo bash .ci/run --install-only` first"
        left_to_others = not_owned_by(ROOT, uid, CREATED)
        assert not left_to_others, (f"the install left these to another user than {pwd.getpwuid(uid).pw_name}:\n"
                                    + "\n".join(left_to_others[:20]))
        return
    as_root_then_as_user(request.getfixturevalue("runner_user"), request.getfixturevalue("debug_dir"))

