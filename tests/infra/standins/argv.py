"""Command-line reading shared by the stand-ins (fake_tool.py, kube_stack.py)."""


def flag_value(argv, name):
    """The value of `name VALUE` or `name=VALUE` in argv, or None."""
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None
