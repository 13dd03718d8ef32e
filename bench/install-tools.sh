#!/usr/bin/env bash
# The bench's load generator and reference proxy, from Debian's packages: wrk and nginx.
#
#   bash bench/install-tools.sh      # idempotent; nothing is done when both are on PATH
#
# `make bench` runs this first, so a fresh clone gets them; nothing is downloaded at run
# time from anywhere but apt. Services are not started by the install (policy-rc.d or not:
# the bench runs nginx itself, with its own config, on a free port).
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
missing=()
have wrk || missing+=(wrk)
have nginx || missing+=(nginx)
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "bench: ${missing[*]} missing; install them: apt-get install -y ${missing[*]}" >&2
    exit 1
  }
  SUDO="sudo"
fi
echo "bench: installing ${missing[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
  $SUDO apt-get update >/dev/null
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
for tool in "${missing[@]}"; do
  have "$tool" || { echo "bench: $tool could not be installed" >&2; exit 1; }
done
