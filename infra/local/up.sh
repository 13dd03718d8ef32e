#!/usr/bin/env bash
# `make up`: the three services as separate processes (8080, 8081, 8082) against Postgres,
# Redis and RabbitMQ given by URL. Defaults point at the servers on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
PG="${AISTRALE_PG_SERVER:-postgresql+asyncpg://postgres@127.0.0.1:5432}"
# One service's own settings go to that service only: each refuses variables it does not
# know (aistrale_common.settings.refuse_unknown_variables), so they are not exported.
ROUTER_DB="${AISTRALE_API_ROUTER_DATABASE_URL:-$PG/aistrale_api_router}"
USERORG_DB="${AISTRALE_USER_ORG_DATABASE_URL:-$PG/aistrale_user_org}"
ANALYTICS_DB="${AISTRALE_ANALYTICS_DATABASE_URL:-$PG/aistrale_analytics}"
USERORG_URL="${AISTRALE_USER_ORG_URL:-http://127.0.0.1:8081}"
unset AISTRALE_API_ROUTER_DATABASE_URL AISTRALE_USER_ORG_DATABASE_URL \
  AISTRALE_ANALYTICS_DATABASE_URL AISTRALE_USER_ORG_URL
export AISTRALE_REDIS_URL="${AISTRALE_REDIS_URL:-redis://127.0.0.1:6379/0}"
export AISTRALE_AMQP_URL="${AISTRALE_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
export AISTRALE_DATA_DIR="${AISTRALE_DATA_DIR:-.aistrale}"
RUN_DIR="$AISTRALE_DATA_DIR/run"
mkdir -p "$RUN_DIR"
uv run --frozen python infra/local/create_databases.py "$ROUTER_DB" "$USERORG_DB" "$ANALYTICS_DB"
start() {  # name port NAME=value... (that service's own settings)
  local name=$1 port=$2
  shift 2
  env "$@" uv run --frozen "aistrale-$name" migrate
  nohup env "$@" uv run --frozen "aistrale-$name" serve --no-migrate --port "$port" \
    >"$RUN_DIR/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
}
start user-org 8081 AISTRALE_USER_ORG_DATABASE_URL="$USERORG_DB"
start api-router 8080 AISTRALE_API_ROUTER_DATABASE_URL="$ROUTER_DB" AISTRALE_USER_ORG_URL="$USERORG_URL"
start analytics 8082 AISTRALE_ANALYTICS_DATABASE_URL="$ANALYTICS_DB"
# The local model server of models.yaml (127.0.0.1:8090), installed on first use; off with
# AISTRALE_LOCAL_MODEL=0. Its progress goes to its log; the services do not wait for it.
case "${AISTRALE_LOCAL_MODEL:-1}" in
  0 | false | no | off) ;;
  *)
    nohup uv run --frozen aistrale-platform local-model >"$RUN_DIR/local-model.log" 2>&1 &
    echo $! >"$RUN_DIR/local-model.pid"
    echo "local model: starting in the background, progress in $RUN_DIR/local-model.log"
    ;;
esac
for port in 8081 8080 8082; do
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.2
  done
  echo "127.0.0.1:$port $(curl -s "http://127.0.0.1:$port/ready")"
done
echo "logs in $RUN_DIR; stop with: make down"
