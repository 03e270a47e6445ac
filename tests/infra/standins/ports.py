"""Free TCP ports on 127.0.0.1 for the throwaway stacks of the infra tests (kube_stack.py, test_deploy_local.py)."""
import socket
from contextlib import ExitStack


def free_ports(count):
    """`count` distinct free ports. Every socket is held until all are chosen: asking one at a time lets the
    kernel hand out the same port twice (a pod and its Service then collide on one port)."""
    with ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
