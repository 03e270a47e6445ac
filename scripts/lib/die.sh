# shellcheck shell=bash
# die MESSAGE...: how taskmgr's scripts stop on an error. Prints "SCRIPT: MESSAGE" on stderr, SCRIPT being
# the file name of the script that runs (deploy.sh, bench.sh, ...), and exits 1. Each script that can fail sources
# it, itself or through scripts/lib/stack.sh; the libraries it sources use it too. The scripts copied alone into an
# image build (scripts/docker/rust-target.sh, scripts/offline-images/runtime-rootfs.sh) keep a die of their own.
die() {
  echo "${0##*/}: $*" >&2
  exit 1
}
