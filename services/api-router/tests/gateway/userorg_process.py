"""The environment of a real user-org process for the router's end-to-end tests."""

from __future__ import annotations

import secrets
from pathlib import Path

from aistrale_testkit.fixtures import Infra

ADMIN = ("admin@e2e.test", "e2e-admin-password-123")


def userorg_env(
    infra: Infra, data_dir: Path, database_url: str, service_token: str, label: str
) -> dict[str, str]:
    """Its own queue prefix per `label` (deleted at session end), shared exchanges."""
    return {
        "AISTRALE_ENVIRONMENT": "test",
        "AISTRALE_DATA_DIR": str(data_dir),
        "AISTRALE_USER_ORG_DATABASE_URL": database_url,
        "AISTRALE_AMQP_URL": infra.amqp_url,
        "AISTRALE_CONTROL_EXCHANGE": infra.name("control"),
        "AISTRALE_USAGE_EXCHANGE": infra.name("usage"),
        "AISTRALE_QUEUE_PREFIX": infra.queue_prefix(label),
        "AISTRALE_JWT_SECRET": secrets.token_urlsafe(32),
        "AISTRALE_SERVICE_TOKEN": service_token,
        "AISTRALE_ADMIN_EMAIL": ADMIN[0],
        "AISTRALE_ADMIN_PASSWORD": ADMIN[1],
        "AISTRALE_BCRYPT_ROUNDS": "4",
        "AISTRALE_LOG_LEVEL": "WARNING",
    }
