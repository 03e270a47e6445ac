# shellcheck shell=bash
# Sourced by the scripts that start throwaway stacks on 127.0.0.1 (scripts/bench.sh, test-browser.sh, test-fuzz.sh)
# next to scripts/lib/stack.sh.

# free_ports N: N distinct free TCP ports on 127.0.0.1, one per line. Every socket is held until all are chosen:
# asked one at a time, the kernel may hand out the same port twice (two services then collide on it).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
held = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in held:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in held), sep="\n")
PY
}
