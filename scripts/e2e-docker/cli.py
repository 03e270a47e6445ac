"""The command line of the e2e-docker checks (checks.py, runtime_libs.py): one subcommand per check."""

import inspect
import sys


class CheckFailed(Exception):
    pass


def run(commands, argv, usage, unreachable=()):
    """Runs the subcommand argv[0] with the rest of ARGV as its arguments.

    Exits 2 with USAGE on an unknown subcommand or a wrong number of arguments; 1 with a message when a check
    fails (CheckFailed) or, for the exception types in UNREACHABLE, when argv[1] cannot be reached; else 0."""
    command = commands.get(argv[0]) if argv else None
    try:
        inspect.signature(command).bind(*argv[1:])
    except TypeError:
        print(usage, file=sys.stderr)
        return 2
    try:
        command(*argv[1:])
    except CheckFailed as err:
        print(f"CHECK FAILED: {err}", file=sys.stderr)
        return 1
    except unreachable as err:
        print(f"CHECK FAILED: cannot reach {argv[1]}: {err}", file=sys.stderr)
        return 1
    return 0
