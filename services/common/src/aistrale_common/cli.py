"""`aistrale-<service> serve|migrate`: the same two commands for every service, plus any
maintenance commands a service adds (each runs with the loaded settings)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from aistrale_common.http_server import CoalescingHttpToolsProtocol
from aistrale_common.settings import ServiceSettings

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
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        http=CoalescingHttpToolsProtocol,
    )
