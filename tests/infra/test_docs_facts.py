"""Facts a reader of README.md and docs/ relies on, checked against the tree (never the wording): every relative
link resolves, anchors included; every `./deploy.sh` command and option the README names exists in the script;
`./deploy.sh --help` fits on a screen and every command's details can be printed; the variables of the
configuration tables are exactly those the code, deploy.sh and docker-compose.yml read (found in their source);
every bound set in the frontend's limits.rs is stated with its value in docs/RELIABILITY.md; every documented
superuser psql pins search_path; every section heading a comment or page names after a page's path exists."""
import re
import subprocess

import pytest

from conftest import ROOT, SUPERUSER_PGOPTIONS, by_name

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DEPLOY = ROOT / "deploy.sh"
LINK = re.compile(r"\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")
CODE_BLOCK = re.compile(r"^```.*?^```", re.S | re.M)
# The shell's and the system's own variables, which scripts read but that are no taskmgr setting.
SHELL_OWN = {"OLDPWD", "PWD", "HOME", "PATH", "BASH_SOURCE", "TMPDIR"}


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[|\]\([^)]*\)", "", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
    text = CODE_BLOCK.sub("", path.read_text())
    found, seen = set(), {}
    for heading in re.findall(r"^#{1,6} (.+)$", text, re.M):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_anchors_included(doc):
    broken = []
    for match in LINK.finditer(CODE_BLOCK.sub("", doc.read_text())):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with that anchor in {resolved.relative_to(ROOT)}")
    assert not broken, f"{doc.relative_to(ROOT)}:\n" + "\n".join(broken)


# Where the tree names a section of a page: the page's path, then quoted headings, in parentheses or after a comma.
SECTION_REF = re.compile(r'([\w./-]+\.md)\)?,? \(?((?:"[^"\n]+"(?:, )?)+)')
REFERRING = ["README.md", "deploy.sh", "docker-compose.yml", "docs", "kubernetes", "charts", "scripts", "db",
             "tests/infra", "e2e", "crates"]


def section_references():
    """(file, page, heading) of every section a file names; comment lines wrapped inside one are joined first."""
    for name in REFERRING:
        top = ROOT / name
        for path in [top] if top.is_file() else sorted(top.rglob("*")):
            if path.suffix not in {"", ".md", ".yaml", ".yml", ".sh", ".py", ".rs", ".sql", ".tpl", ".ts", ".js"} \
                    or not path.is_file() or {"node_modules", "target"} & set(path.parts):
                continue
            text = re.sub(r"\s*\n\s*(?:#|//!?|--)?\s*", " ", path.read_text(errors="replace"))
            for page, quoted in SECTION_REF.findall(text):
                for heading in re.findall(r'"([^"]+)"', quoted):
                    yield path.relative_to(ROOT), page, heading


def test_every_section_a_file_names_exists():
    """A comment or page saying where to read on ("Plain kubectl") must name a heading the page has."""
    found = list(section_references())
    assert len(found) >= 5, f"the search found too few section references: {found}"
    missing = []
    for path, page, heading in found:
        target = next((p for p in (ROOT / page, ROOT / path.parent / page) if p.is_file()), None)
        headings = target and {h.replace("`", "") for h in re.findall(r"^#{1,6} (.+)$",
                                                                       CODE_BLOCK.sub("", target.read_text()), re.M)}
        if not headings or heading.replace("`", "") not in headings:
            missing.append(f'{path}: {page} ("{heading}")')
    assert not missing, "sections named but not found:\n" + "\n".join(missing)


def deploy_commands():
    """The commands of deploy.sh's main(): the labels of its case statement."""
    main = DEPLOY.read_text().split("\nmain() {", 1)[1].split("\n}", 1)[0]
    labels = re.findall(r"^\s{4}([\w|\- ]+)\)", main, re.M)
    return {word.strip() for label in labels for word in label.split("|") if not word.strip().startswith("-")}


def deploy_options():
    """Every --option a case statement of deploy.sh or the scripts it sources matches."""
    sources = [DEPLOY, ROOT / "scripts" / "deploy-local.sh", *sorted((ROOT / "scripts" / "lib").glob("*.sh"))]
    options = set()
    for source in sources:
        for label in re.findall(r"^\s*((?:-[-\w]+\s*\|?\s*)+)\)", source.read_text(), re.M):
            options |= {word.strip() for word in label.split("|") if word.strip()}
    return options


def test_every_deploy_command_and_option_the_readme_names_exists():
    readme = (ROOT / "README.md").read_text()
    named = re.findall(r"\./deploy\.sh((?: (?:--?[\w-]+|[a-z][\w-]*))*)", readme)
    commands, options = deploy_commands(), deploy_options()
    assert {"kind", "local", "compose"} <= commands, commands
    missing = []
    for words in named:
        for word in words.split():
            if word.startswith("-"):
                if word not in options:
                    missing.append(word)
            elif word == words.split()[0] and word not in commands:
                missing.append(word)
    assert not missing, f"the README names ./deploy.sh {missing}, which deploy.sh does not have"


def deploy(*args):
    return subprocess.run([str(DEPLOY), *args], capture_output=True, text=True, timeout=30, cwd=ROOT)


def test_help_fits_on_a_screen_and_every_command_has_its_details():
    usage = deploy("--help")
    assert usage.returncode == 0, usage.stderr
    lines = usage.stdout.splitlines()
    assert len(lines) <= 30 and max(map(len, lines)) <= 100, f"{len(lines)} lines, {max(map(len, lines))} columns"
    for command in deploy_commands() - {"help"}:
        assert re.search(rf"^  {re.escape(command)}\b", usage.stdout, re.M), f"--help does not list {command}"
        for argv in (["help", command], [command, "--help"]):
            details = deploy(*argv)
            assert details.returncode == 0 and details.stdout.startswith("Usage: ./deploy.sh"), (argv, details)
            assert max(map(len, details.stdout.splitlines())) <= 100, argv
    for option in ("--recreate", "--hpa", "--no-extras", "--tls", "--pgadmin", "--force"):
        assert option in deploy_options() and option in usage.stdout, option
    assert deploy("help", "no-such-command").returncode != 0


# ------------------------------------------------------------------ the configuration tables

ENV_LITERAL = re.compile(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|HOST|PORT)"')


def rust_reads():
    crates = [ROOT / "crates" / svc / "src" for svc in ("backend-api", "frontend")]
    # config.rs, and the modules of a config/ folder if the settings are split into one.
    sources = [path for src in crates for path in [src / "config.rs", *sorted((src / "config").rglob("*.rs"))]]
    sources.append(ROOT / "crates" / "service-kit" / "src" / "cli.rs")
    return {name for s in sources for name in ENV_LITERAL.findall(s.read_text().split("#[cfg(test)]")[0])}


def shell_reads(path):
    """Upper-case variables a script reads with a default (${NAME:-...}, ${NAME-...}) and never assigns itself;
    single-quoted text (commands run elsewhere, e.g. in a container) and comments are skipped."""
    text = "\n".join(re.sub(r"'[^']*'", "", line) for line in path.read_text().splitlines()
                     if not line.lstrip().startswith("#"))
    read = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)(?::?-)", text))
    # ${!name:-...} reads the variables named in the loop over them (deploy.sh's compose base images).
    for loop in re.findall(r"for \w+ in ((?:[A-Z][A-Z0-9_]* ?)+);", text):
        if "${!" in text:
            read |= set(loop.split())
    assigned = {name for name, value in re.findall(r"^\s*(?:local |export |readonly )?([A-Z][A-Z0-9_]*)=(\S*)",
                                                    text, re.M)
                if not re.match(rf'"?\$\{{{name}:?-', value)}  # NAME="${NAME:-default}" reads NAME
    return read - assigned - SHELL_OWN


def deploy_reads():
    sources = [DEPLOY, ROOT / "scripts" / "deploy-local.sh", ROOT / "scripts" / "offline-images.sh",
               *sorted((ROOT / "scripts" / "lib").glob("*.sh"))]
    reads = set().union(*(shell_reads(s) for s in sources))
    reads |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):?-", (ROOT / "docker-compose.yml").read_text()))
    return reads


def table_variables():
    """The backticked names in the `variable` column of every table of README.md and docs/."""
    names = set()
    for doc in DOCS:
        column = None
        for row in CODE_BLOCK.sub("", doc.read_text()).splitlines():
            if not row.startswith("|"):
                column = None
                continue
            cells = [c.strip() for c in row.strip().strip("|").split("|")]
            if column is None:
                column = cells.index("variable") if "variable" in cells else -1
            elif column >= 0 and not set(row) <= set("|-: ") and column < len(cells):
                names |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[column]))
    return names


def test_the_configuration_tables_name_every_variable_read_and_nothing_else():
    documented = table_variables()
    read = rust_reads() | deploy_reads()
    assert {"PORT", "METRICS_PORT", "DATABASE_URL", "IMAGE_TAG", "RUST_IMAGE"} <= read, "the search found too little"
    assert not read - documented, f"read by the code or deploy.sh but in no configuration table: {read - documented}"
    assert not documented - read, f"in a configuration table but read by nothing: {documented - read}"


FRONTEND_LIMITS = ROOT / "crates" / "frontend" / "src" / "config" / "limits.rs"


def stated(expression):
    """How docs/RELIABILITY.md states a bound's value, from its Rust expression; None for another constant's alias."""
    if m := re.fullmatch(r"Duration::from_secs\((\d+)\)", expression):
        return f"{m[1]} s"
    if m := re.fullmatch(r"(\d+) \* 1024 \* 1024", expression):
        return f"{m[1]} MiB"
    if m := re.fullmatch(r"(\d+) \* 1024", expression):
        return f"{m[1]} KiB"
    if re.fullmatch(r"[\d_]+", expression):
        return f"{int(expression.replace('_', '')):,}"
    assert re.fullmatch(r"[\w:]+", expression), f"{FRONTEND_LIMITS.name}: say how the docs state `{expression}`"
    return None


def test_every_bound_of_the_frontends_limits_rs_is_in_reliability_md_with_its_value():
    """limits.rs says it is the one place the frontend's bounds are set, and that RELIABILITY.md gives each value."""
    bounds = re.findall(r"^pub const (\w+): \w+ = (.+);$", FRONTEND_LIMITS.read_text(), re.M)
    assert len(bounds) >= 10, "the search found too few bounds in limits.rs"
    table = (ROOT / "docs" / "RELIABILITY.md").read_text().split("### Frontend", 1)[1].split("\n## ", 1)[0]
    for name, expression in bounds:
        value = stated(expression)
        if name.startswith("RETRY_AFTER"):
            value = f"Retry-After: {value}"
        assert value is None or re.search(rf"(?<![\w.])(?<!\d,){re.escape(value)}(?!\w|[.,]\d)", table), \
            f"{name} = {expression}: RELIABILITY.md's frontend bounds never say {value!r}"


def documented_psql_sessions():
    """(doc, line) of every psql the code blocks of README.md and docs/ run, with the user it connects as (-U, or
    None for psql's default)."""
    for doc in DOCS:
        for block in CODE_BLOCK.findall(doc.read_text()):
            for line in block.splitlines():
                if re.search(r"(^|\s)psql(\s|$)", line) and not line.lstrip().startswith("#"):
                    user = re.search(r"\spsql\s.*?-U\s*(\S+)", f" {line}")
                    yield doc.relative_to(ROOT), line, user and user[1]


def test_every_documented_superuser_psql_pins_search_path():
    """The app role owns public, so a superuser session whose search_path reaches it could run that role's
    functions as superuser: the documented ones set the scripts' PGOPTIONS, or run SQL that pins it first."""
    app_user = by_name("ConfigMap", "app-config")["data"]["POSTGRES_APP_USER"]
    sessions = list(documented_psql_sessions())
    assert len(sessions) >= 2, f"the search found too few documented psql commands: {sessions}"
    unpinned = []
    for doc, line, user in sessions:
        sql = re.search(r"\s-f\s+(\S+)", line)
        pinned = re.search(rf"""PGOPTIONS=(['"]){re.escape(SUPERUSER_PGOPTIONS)}\1\s(.*\s)?psql\s""", line) or (
            sql and re.search(r"^SET search_path = pg_catalog, pg_temp;$", (ROOT / sql[1]).read_text(), re.M))
        if user != app_user and not pinned:
            unpinned.append(f"{doc}: {line.strip()}")
    assert not unpinned, (f"superuser psql without PGOPTIONS='{SUPERUSER_PGOPTIONS}' (scripts/lib/pg-superuser.sh):"
                          "\n" + "\n".join(unpinned))
