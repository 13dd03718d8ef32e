"""`aistrale-analytics serve|migrate`."""

from __future__ import annotations

from aistrale_analytics.app import create_app
from aistrale_analytics.migrate import migrate
from aistrale_analytics.settings import Settings
from aistrale_common.cli import run_service_cli


def main(argv: list[str] | None = None) -> None:
    run_service_cli("analytics", Settings, create_app, migrate, argv)
