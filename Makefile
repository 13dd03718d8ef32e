# AISTRALE — the commands of the README. Everything a fresh clone needs is installed here.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# uv from PATH, else the one pip installs into this python (installed on first use).
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
PYTEST_ARGS ?=
# Two workers, each test file whole on one (module fixtures start processes once): most of
# the suite waits on processes and timers, so two workers halve it on two cores.
PYTEST_WORKERS ?= 2

.PHONY: help deps run up down test lint fmt bench soak tools

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

deps:  ## install the workspace (one lock file) into .venv
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet 'uv>=0.5,<1'
	@$(UV) sync --all-packages --locked --quiet

run: deps  ## start the whole platform on http://127.0.0.1:8080 (embedded adapters)
	@$(UV) run --frozen aistrale-platform run

up: deps  ## three processes on :8080 :8081 :8082 against Postgres, Redis and RabbitMQ URLs
	@bash infra/local/up.sh

down:  ## stop what `make up` started
	@bash infra/local/down.sh

tools:  ## install the offline validation tools (charts, manifests, rules) and Chromium (console tests)
	@if [ -f infra/validation/install-tools.sh ]; then bash infra/validation/install-tools.sh; fi
	@bash console/install-browser.sh

test: deps tools  ## lint, then the whole suite on real Postgres, Redis and RabbitMQ
	@$(MAKE) --no-print-directory lint
	@$(UV) run --frozen pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: deps  ## ruff, mypy and the import rules (import-linter), clean
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy services tests bench
	@$(UV) run --frozen lint-imports --no-cache

fmt: deps  ## format and fix what ruff can
	@$(UV) run --frozen ruff format .
	@$(UV) run --frozen ruff check --fix .

soak: deps  ## the make-up topology under load and faults for 10 minutes (docs/soak.md)
	@AISTRALE_SOAK_S=$${AISTRALE_SOAK_S:-600} $(UV) run --frozen pytest tests/soak -s $(PYTEST_ARGS)

BENCH_ARGS ?=
bench: deps  ## a routing decision's cost (bench/routing.py), then `make run` and `make up` vs a direct call and nginx, with wrk (BENCH_ARGS=--help)
	@$(UV) run --frozen python -m bench.routing
	@$(UV) run --frozen python -m bench.responses
	@bash bench/install-tools.sh
	@$(UV) run --frozen python -m bench.run $(BENCH_ARGS)
	@$(UV) run --frozen python -m bench.pii
