"""`aistrale-<service> serve|migrate`: the same two commands for every service, plus any
maintenance commands a service adds (each runs with the loaded settings)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from typing import TypeVar

from fastapi import FastAPI
from pydantic import ValidationError

from aistrale_common.app import app_drain
from aistrale_common.settings import ServiceSettings, UnknownVariableError, refuse_unknown_variables
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

    try:
        settings = load_settings()
    except ValidationError as error:  # one line, without the values (they may be secrets)
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
            for e in error.errors(include_url=False, include_input=False)
        )
        raise SystemExit(f"aistrale-{service}: invalid settings: {problems}") from None
    try:  # this process runs one service: only its own settings (and the tooling's) are known
        refuse_unknown_variables(os.environ, [type(settings)], settings.referenced_variables())
    except UnknownVariableError as error:
        raise SystemExit(f"aistrale-{service}: {error}") from None
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
