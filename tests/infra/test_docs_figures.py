"""The figures in README.md and docs/ agree with their one source.

docs/PERFORMANCE.md holds the measurements; its run F is the run of record. Other documents quote its figures
(and name the run and its date), older verdicts are marked superseded, and the kind version is the one CI pins."""
import re

import pytest
import yaml

from conftest import ROOT

PERFORMANCE = ROOT / "docs" / "PERFORMANCE.md"
ARCHITECTURE = ROOT / "docs" / "ARCHITECTURE.md"
README = ROOT / "README.md"
NUMBER = r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?"


def sections(text):
    """{heading: body} for every ## or ### heading."""
    parts = re.split(r"^(#{2,3} .*)$", text, flags=re.M)
    return {parts[i].lstrip("# ").strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def section(text, heading_start):
    found = [body for heading, body in sections(text).items() if heading.startswith(heading_start)]
    assert len(found) == 1, f"expected one section starting {heading_start!r}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def run_of_record():
    """Run F's table in PERFORMANCE.md: {row label: req/s or TPS}, plus the two peak RSS figures."""
    body = section(PERFORMANCE.read_text(), "The run of record")
    rows = dict(re.findall(r"^\| (.+?) \| ([\d,]+) \|", body, re.M))
    assert len(rows) == 10, rows
    rss = re.search(r"Peak RSS: backend-api ([\d.]+) MB, frontend ([\d.]+) MB", body)
    assert rss, "PERFORMANCE.md's run of record states the peak RSS of both services"
    return {
        "by id": rows["backend `GET /api/tasks/{id}`"],
        "list": rows["backend `GET /api/tasks` (100 tasks)"],
        "create": rows["backend `POST /api/tasks`"],
        "pgbench": rows["`pgbench -S` (TPS)"],
        "backend rss": rss.group(1),
        "frontend rss": rss.group(2),
    }


def test_architecture_quotes_the_run_of_record_and_nothing_else(run_of_record):
    capacity = section(ARCHITECTURE.read_text(), "Capacity, measured")
    assert "run F" in capacity and "2026-11-30" in capacity, "name the run and its date"
    assert f"a task by id {run_of_record['by id']} req/s" in capacity
    assert f"list of 100 tasks {run_of_record['list']} req/s" in capacity
    assert f"creating tasks {run_of_record['create']} req/s" in capacity
    assert f"{run_of_record['pgbench']} `pgbench -S`" in capacity
    assert f"peak RSS is {run_of_record['backend rss']} MB" in capacity
    # No other throughput figure (a range from an older run, say) may sit next to them.
    quoted = set(re.findall(r"\d{1,3}(?:,\d{3})+", capacity))
    assert quoted <= set(run_of_record.values()), f"figures not from the run of record: {quoted - set(run_of_record.values())}"


def test_verdicts_other_than_the_run_of_record_are_marked_superseded():
    for heading, body in sections(PERFORMANCE.read_text()).items():
        if heading.startswith("The run of record"):
            continue
        positive = [line for line in body.splitlines() if re.search(r"(?<!not )\bmet\b", line)]
        if positive:
            assert "superseded" in heading.lower(), f"section {heading!r} gives verdicts ({positive[0][:80]}...) " \
                                                    "without saying the run of record supersedes them"


def test_readme_start_up_and_image_sizes_are_performance_md_figures():
    performance = PERFORMANCE.read_text()
    readme = README.read_text()
    start_up = re.search(r"answering 200 through the UI took (\d+–\d+ ms)", performance.replace("\n", " "))
    assert start_up, "PERFORMANCE.md states the start-up time"
    assert f"{start_up.group(1)} after `docker start`" in readme.replace("\n  ", " "), \
        f"README's start-up time must be PERFORMANCE.md's {start_up.group(1)}"
    sizes = dict(re.findall(r"\| `taskmgr/(backend-api|frontend)` \| ([\d.]+) MB", performance))
    assert set(sizes) == {"backend-api", "frontend"}, sizes
    quoted = re.search(r"backend-api (\d+) MB, frontend (\d+) MB", readme.replace("\n", " "))
    assert quoted, "README gives the image sizes"
    assert (int(quoted.group(1)), int(quoted.group(2))) == (round(float(sizes["backend-api"])),
                                                            round(float(sizes["frontend"]))), \
        f"README's sizes {quoted.groups()} must be PERFORMANCE.md's {sizes}, rounded"


def test_every_mention_of_a_kind_version_is_the_one_ci_pins():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    steps = [s for s in workflow["jobs"]["e2e-kind"]["steps"] if "helm/kind-action" in s.get("uses", "")]
    pinned = steps[0]["with"]["version"]
    assert re.fullmatch(r"v\d+\.\d+\.\d+", pinned), pinned
    files = [ROOT / "deploy.sh", README, *sorted((ROOT / "docs").glob("*.md"))]
    mentions = []
    for path in files:
        for match in re.finditer(r"kind@(\S+?)[,` )]|kind (v\d+\.\d+\.\d+)|pins (v\d+\.\d+\.\d+)", path.read_text()):
            mentions.append((path.name, next(g for g in match.groups() if g)))
    assert any(name == "deploy.sh" for name, _ in mentions), "deploy.sh's install hint names the version"
    assert [m for m in mentions if m[1] != pinned] == [], f"every kind version must be CI's {pinned}"
