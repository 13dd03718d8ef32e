"""`aistrale-platform run | migrate | local-model`."""

from __future__ import annotations

import argparse
import os

from aistrale_analytics.settings import Settings as AnalyticsSettings
from aistrale_common.logging import configure_logging
from aistrale_common.settings import UnknownVariableError, refuse_unknown_variables
from aistrale_platform.settings import Settings
from aistrale_router.settings import Settings as RouterSettings
from aistrale_userorg.settings import Settings as UserOrgSettings

# `make run` serves every service in this one process, from one environment: each of them
# reads it, so a name is known when any of them (or the platform itself) declares it.
PROCESS_SETTINGS = (Settings, RouterSettings, UserOrgSettings, AnalyticsSettings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="aistrale-platform")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="migrate and serve all services on one port")
    commands.add_parser("migrate", help="apply every service's migrations and exit")
    commands.add_parser("local-model", help="only the local model server (for `make up`)")
    args = parser.parse_args(argv)

    settings = Settings()
    try:
        referenced = RouterSettings().referenced_variables()
        refuse_unknown_variables(os.environ, PROCESS_SETTINGS, referenced)
    except UnknownVariableError as error:
        raise SystemExit(f"aistrale-platform: {error}") from None
    configure_logging(settings.log_level, settings.log_json)
    # Imported per command: `local-model` must not pay seconds of importing three services.
    if args.command == "local-model":
        from aistrale_platform.localmodel.standalone import run_local_model

        run_local_model(settings)
    else:
        from aistrale_platform.serve import run

        run(settings, serve=args.command == "run")
