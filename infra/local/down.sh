#!/usr/bin/env bash
# `make down`: stop what `make up` started (SIGTERM, so in-flight usage is flushed).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN_DIR="${AISTRALE_DATA_DIR:-.aistrale}/run"
for pidfile in "$RUN_DIR"/*.pid; do
  [ -e "$pidfile" ] || continue
  kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
done
