# shellcheck shell=bash
# Sourced by deploy.sh and scripts/lib/stack.sh.

# random_token BYTES: that many random bytes from the kernel, as hex (passwords and keys).
random_token() {
  od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}
