"""`aistrale-<service> serve|migrate`: the same two commands for every service, plus any
maintenance commands a service adds (each runs with the loaded settings)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import TypeVar

from fastapi import FastAPI

from aistrale_common.app import app_drain
from aistrale_common.settings import ServiceSettings
from aistrale_common.shutdown import DrainingServer, server_config

S = TypeVar("S", bound=ServiceSettings)


def run_service_cli(
    service: str,
    load_settings: Callable[[], S],
    create_app: Callable[[S], FastAPI],
    migrate: Callable[[S], None],
    argv: list[str] | None = None,
    extra: Mapping[str, tuple[str, Callable[[S], None]]] | None = None,
) -> None:
    """`extra`: command name -> (help, run(settings))."""
    parser = argparse.ArgumentParser(prog=f"aistrale-{service}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not apply migrations before serving"
    )
    commands.add_parser("migrate", help="apply database migrations and exit")
    for name, (help_text, _) in (extra or {}).items():
        commands.add_parser(name, help=help_text)
    args = parser.parse_args(argv)

    settings = load_settings()
    if args.command == "migrate":
        migrate(settings)
        return
    if extra and args.command in extra:
        extra[args.command][1](settings)
        return
    if not args.no_migrate:
        migrate(settings)
    app = create_app(settings)
    config = server_config(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        grace_s=settings.shutdown_grace_s,
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
    )
    DrainingServer(config, [app_drain(app)]).run()
