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


@pytest.fixture
def installed():
    """(tree, uid of its user): as another user, this tree after its install; as root, a copy of it owned by USER
    (created for the test if missing) after `.ci/run --install-only` run as `sudo` from USER runs it."""
    if os.geteuid() != 0:
        assert all((ROOT / p).exists() for p in CREATED), "run `sudo bash .ci/run --install-only` first"
        yield ROOT, os.geteuid()
        return
    created = subprocess.run(["id", USER], capture_output=True).returncode != 0
    if created:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/bash", USER], check=True)
    user = pwd.getpwnam(USER)
    work = Path(tempfile.mkdtemp(prefix="ci-run-user-", dir="/var/tmp"))
    tree = work / "tree"
    try:
        work.chmod(0o755)
        tree.mkdir()
        # Tracked and untracked-but-not-ignored files, as a checkout has them; tar skips those deleted, uncommitted.
        subprocess.run(["bash", "-o", "pipefail", "-c", 'git ls-files -z -co --exclude-standard | tar --null -T - '
                        '--ignore-failed-read -cf - | tar -xf - -C "$1"', "copy", str(tree)], cwd=ROOT, check=True)
        subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(tree)], check=True)
        # This tree's venvs, copied in as root (as a root install makes them): .ci/run then only checks their
        # pinned requirements, as on its second run, instead of downloading them again (minutes).
        for venv in [v for v in ("infra-venv", "fuzz-venv", "docker-venv") if (ROOT / ".local" / v).is_dir()]:
            shutil.copytree(ROOT / ".local" / venv, tree / ".local" / venv, symlinks=True)
        sudo_env = {**os.environ, "SUDO_UID": str(user.pw_uid), "SUDO_GID": str(user.pw_gid), "SUDO_USER": USER}
        install = subprocess.run(["bash", ".ci/run", "--install-only"], cwd=tree, env=sudo_env,
                                 capture_output=True, text=True, timeout=1200)
        assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
        yield tree, user.pw_uid
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if created:
            subprocess.run(["userdel", USER], check=True)


def test_tests_run_as_the_invoking_user_after_a_root_install(installed):
    tree, uid = installed
    left_to_others = subprocess.run(["find", *[str(tree / p) for p in CREATED if (tree / p).exists()], "-not", "-uid",
                                     str(uid), "-printf", "%u %p\n"], capture_output=True, text=True, check=True)
    assert not left_to_others.stdout, (f"the install left these to another user than {pwd.getpwuid(uid).pw_name}:\n"
                                       + "\n".join(left_to_others.stdout.splitlines()[:20]))
