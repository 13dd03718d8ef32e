"""`aistrale-<service> serve|migrate`: the same two commands for every service."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from aistrale_common.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def run_service_cli(
    service: str,
    load_settings: Callable[[], S],
    create_app: Callable[[S], FastAPI],
    migrate: Callable[[S], None],
    argv: list[str] | None = None,
) -> None:
    parser = argparse.ArgumentParser(prog=f"aistrale-{service}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not apply migrations before serving"
    )
    commands.add_parser("migrate", help="apply database migrations and exit")
    args = parser.parse_args(argv)

    settings = load_settings()
    if args.command == "migrate":
        migrate(settings)
        return
    if not args.no_migrate:
        migrate(settings)
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )
