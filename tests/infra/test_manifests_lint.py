"""Offline checks with real tools that need no API server: kubernetes-validate, checkov, shellcheck."""
import subprocess

from conftest import MANIFEST_DIR, ROOT, SECRET_EXAMPLE, VENV_HINT, load_docs, manifest_files, tool


def test_no_applied_manifest_can_overwrite_the_generated_secret():
    """`kubectl apply -k kubernetes/`, or -f of any file below it, after ./deploy.sh must not replace its random
    Secret with placeholders, which would lock the backend out of the database: no Secret in any file kubectl would
    read."""
    applied = [p for p in MANIFEST_DIR.rglob("*") if p.suffix in (".yaml", ".yml", ".json")]
    assert len(applied) >= 12, applied
    for path in applied:
        # YAML is a superset of JSON, so one loader reads all three kinds of file.
        assert "Secret" not in [d["kind"] for d in load_docs(path)], f"{path.relative_to(ROOT)} holds a Secret"
    assert MANIFEST_DIR not in SECRET_EXAMPLE.parents, "the example Secret (test_manifests_standards.py) stays out"


def test_strict_schema_validation_rejects_a_misspelt_field(tmp_path):
    """The validator really catches what a typo would break (so a pass above means something)."""
    validate = tool("kubernetes-validate", VENV_HINT)
    bad = (MANIFEST_DIR / "backend-deployment.yaml").read_text().replace("readinessProbe:", "readynessProbe:")
    (tmp_path / "bad.yaml").write_text(bad)
    result = subprocess.run([validate, "--strict", str(tmp_path / "bad.yaml")], capture_output=True, text=True)
    assert result.returncode != 0 and "readynessProbe" in result.stdout + result.stderr


def test_every_accepted_checkov_finding_says_why():
    """Suppressions are annotations `checkov.io/skipN: CHECK=reason`, and the manifest explains them in a comment."""
    for path in manifest_files():
        text = path.read_text()
        for line in [line for line in text.splitlines() if "checkov.io/skip" in line]:
            check, _, reason = line.split(":", 1)[1].strip().partition("=")
            assert len(reason.split()) >= 3, f"{path.name}: {check} is suppressed without a reason"
            assert check in text.replace(line, "") or "see backend-deployment.yaml" in text, (
                f"{path.name}: {check} has no explaining comment")


def test_deploy_scripts_are_shellcheck_clean():
    shellcheck = tool("shellcheck", "apt-get install shellcheck")
    scripts = [ROOT / "deploy.sh", ROOT / "scripts" / "deploy-local.sh", ROOT / "scripts" / "test-infra.sh",
               ROOT / "tests" / "infra" / "e2e-kind.sh", *sorted((ROOT / "scripts" / "lib").glob("*.sh"))]
    result = subprocess.run([shellcheck, "-x", *map(str, scripts)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
