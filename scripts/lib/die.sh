# shellcheck shell=bash
# die MESSAGE...: how taskmgr's scripts stop on an error (and require and have_tool, how they check for a tool).
# Prints "SCRIPT: MESSAGE" on stderr, SCRIPT being the file name of the script that runs (deploy.sh, bench.sh,
# ...), and exits 1. Each script that can fail sources it, itself or through scripts/lib/stack.sh; the libraries
# it sources use it too. The scripts copied alone into an image build (scripts/docker/rust-target.sh,
# scripts/offline-images/runtime-rootfs.sh) keep a die of their own.
die() {
  echo "${0##*/}: $*" >&2
  exit 1
}

# have_tool TOOL HINT: whether TOOL is on PATH. When it is not, prints "SCRIPT: TOOL is missing: HINT" (HINT says
# how to get it), for a caller that goes on without it; require stops instead.
have_tool() {
  command -v "$1" >/dev/null 2>&1 && return
  echo "${0##*/}: $1 is missing: $2" >&2
  return 1
}

# require TOOL HINT: exits 1 unless TOOL is on PATH, having said how to get it.
require() {
  have_tool "$@" || exit 1
}
