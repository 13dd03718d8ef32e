"""`aistrale-user-org serve|migrate`."""

from __future__ import annotations

from aistrale_common.cli import run_service_cli
from aistrale_userorg.app import create_app
from aistrale_userorg.migrate import migrate
from aistrale_userorg.settings import Settings


def main(argv: list[str] | None = None) -> None:
    run_service_cli("user-org", Settings, create_app, migrate, argv)
