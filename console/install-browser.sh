#!/usr/bin/env bash
# Debian's Chromium for the console's browser tests (tests/console), run by `make tools`.
#
#   bash console/install-browser.sh      # idempotent; instant when /usr/bin/chromium exists
#
# Playwright drives the system browser (executable_path), so nothing is downloaded at test time.
# AISTRALE_CHROMIUM names another binary. Any failure exits non-zero: the tests never skip.
set -euo pipefail

CHROMIUM="${AISTRALE_CHROMIUM:-/usr/bin/chromium}"
die() {
  printf '\n!!! install-browser: %s\n\n' "$*" >&2
  exit 1
}

if [ -x "$CHROMIUM" ]; then exit 0; fi
command -v apt-get >/dev/null 2>&1 ||
  die "apt-get not found: install Chromium and set AISTRALE_CHROMIUM to it (tests/console needs it)"
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "not root and no sudo: run 'apt-get install chromium' as root"
  SUDO="sudo"
fi
printf 'install-browser: chromium from Debian\n' >&2
$SUDO apt-get update -q >/dev/null || die "apt-get update failed"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium >/dev/null ||
  die "apt-get install chromium failed"
"$CHROMIUM" --headless --no-sandbox --version >/dev/null 2>&1 || "$CHROMIUM" --version >/dev/null ||
  die "$CHROMIUM does not run"
