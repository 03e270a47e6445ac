"""`./scripts/test.sh` by stage, with a recording stand-in `cargo` so no slow stage runs."""
import os
import subprocess

import pytest

from conftest import ROOT

TEST_SH = ROOT / "scripts" / "test.sh"
STAGES = ["rust-lint", "rust-tests", "browser", "fuzz", "infra", "docker"]


@pytest.fixture
def fake_cargo(tmp_path):
    """A `cargo` that records its arguments and exits with $FAKE_CARGO_RC (default 0)."""
    cargo, log = tmp_path / "bin" / "cargo", tmp_path / "cargo.log"
    cargo.parent.mkdir()
    cargo.write_text(f'#!/bin/sh\necho "$*" >>"{log}"\nexit "${{FAKE_CARGO_RC:-0}}"\n')
    cargo.chmod(0o755)

    def run(*args, rc=0):
        log.write_text("")
        env = {**os.environ, "PATH": f"{cargo.parent}:{os.environ['PATH']}", "FAKE_CARGO_RC": str(rc)}
        result = subprocess.run([str(TEST_SH), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
        result.cargo_calls = log.read_text().splitlines()
        return result

    return run


def test_list_names_every_stage_in_order_with_what_it_runs(fake_cargo):
    result = fake_cargo("--list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == STAGES
    assert all(len(line.split()) > 1 for line in lines), "each stage says what it runs"
    assert result.cargo_calls == [], "--list runs nothing"


def started(result):
    return [line.split()[2].rstrip(":") for line in result.stdout.splitlines() if line.startswith("==> stage ")]


def test_selected_stages_run_alone_in_the_order_given_and_failures_are_reported(fake_cargo):
    result = fake_cargo("rust-lint")
    assert result.returncode == 0 and started(result) == ["rust-lint"], result.stdout + result.stderr
    assert result.cargo_calls == ["fmt --all -- --check", "clippy --workspace --all-targets --locked -- -D warnings"]
    assert result.stdout.rstrip().endswith("stages: 1 passed, 0 failed")
    result = fake_cargo("rust-tests", "rust-lint", rc=1)
    assert result.returncode == 1 and started(result) == ["rust-tests", "rust-lint"], "every stage runs after a failure"
    assert result.cargo_calls[0] == "test --workspace --locked"
    assert "failed stages: rust-tests rust-lint" in result.stdout
    assert result.stdout.rstrip().endswith("stages: 0 passed, 2 failed")


@pytest.mark.parametrize("args", [("nosuch",), ("rust-lint", "browsers"), ("--frobnicate",)])
def test_unknown_stage_is_refused_before_anything_runs(fake_cargo, args):
    result = fake_cargo(*args)
    bad = [a for a in args if a not in STAGES][0]
    assert result.returncode == 2 and f"unknown stage '{bad}'" in result.stderr and "--list" in result.stderr
    assert " ".join(STAGES) in result.stderr, "name the stages that exist"
    assert result.cargo_calls == [] and "==> stage" not in result.stdout

