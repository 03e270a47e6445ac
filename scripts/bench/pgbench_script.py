#!/usr/bin/env python3
"""Writes the pgbench script(s) that run one statement pg_stat_statements recorded (used by scripts/bench.sh).

  pgbench_script.py OUT_DIR QUERY IDS_FILE N=VALUE...

Each $N of QUERY becomes VALUE: a pgbench variable (":id", bound with -D, so that -M prepared sends it as a
parameter as the backend does) or SQL. "N=@ids" writes one script per line of IDS_FILE with that id as a
literal, for pgbench to pick one at random per transaction. "N?=VALUE" binds $N only if the statement has it
(a LIMIT 1 one version sends and another does not). Every $N must be bound and every other binding used, so a
statement that changes shape fails here instead of measuring something else. Prints the script paths.
"""
import re
import sys
from pathlib import Path

PLACEHOLDER = re.compile(r"\$(\d+)(?!\d)")


def main(out_dir, query, ids_file, *bindings):
    values = dict(b.split("=", 1) for b in bindings)
    found = set(PLACEHOLDER.findall(query))
    values = {n.rstrip("?"): v for n, v in values.items() if not n.endswith("?") or n[:-1] in found}
    if found != set(values):
        sys.exit(f"placeholders {sorted(found)} but bindings {sorted(values)}")
    per_id = [n for n, v in values.items() if v == "@ids"]
    ids = Path(ids_file).read_text().split() if per_id else [None]
    out = Path(out_dir)
    for i, task_id in enumerate(ids):
        bound = {n: (f"'{task_id}'" if v == "@ids" else v) for n, v in values.items()}
        path = out / f"statement-{i}.sql"
        path.write_text(PLACEHOLDER.sub(lambda m: bound[m.group(1)], query) + ";\n")
        print(path)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
