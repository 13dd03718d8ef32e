"""`aistrale-platform run | migrate | local-model`."""

from __future__ import annotations

import argparse

from aistrale_common.logging import configure_logging
from aistrale_platform.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="aistrale-platform")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="migrate and serve all services on one port")
    commands.add_parser("migrate", help="apply every service's migrations and exit")
    commands.add_parser("local-model", help="only the local model server (for `make up`)")
    args = parser.parse_args(argv)

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    # Imported per command: `local-model` must not pay seconds of importing three services.
    if args.command == "local-model":
        from aistrale_platform.localmodel.standalone import run_local_model

        run_local_model(settings)
    else:
        from aistrale_platform.serve import run

        run(settings, serve=args.command == "run")
