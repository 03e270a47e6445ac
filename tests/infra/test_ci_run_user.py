"""GitHub's order: `sudo .ci/run --install-only`, then the tests as the invoking user, who must own what the
install created. As root, on a copy of the tree owned by a throwaway user ci-runner (the venvs copied in first,
so the install only checks them); as another user, on this tree after its install."""
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


def as_root_then_as_user(user):
    work = Path(tempfile.mkdtemp(prefix="ci-run-user-", dir="/var/tmp"))
    try:
        work.chmod(0o755)
        tree = copy_tree(work)
        subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(tree)], check=True)
        seed_venvs(tree)
        sudo_env = {**os.environ, "SUDO_UID": str(user.pw_uid), "SUDO_GID": str(user.pw_gid), "SUDO_USER": USER}
        install = subprocess.run(["bash", ".ci/run", "--install-only"], cwd=tree, env=sudo_env,
                                 capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
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
    as_root_then_as_user(request.getfixturevalue("runner_user"))

