"""`aistrale-api-router serve|migrate`."""

from __future__ import annotations

from aistrale_common.cli import run_service_cli
from aistrale_router.app import create_app
from aistrale_router.migrate import migrate
from aistrale_router.settings import Settings


def main(argv: list[str] | None = None) -> None:
    run_service_cli("api-router", Settings, create_app, migrate, argv)
