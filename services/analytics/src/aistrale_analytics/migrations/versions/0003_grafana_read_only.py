"""grafana read-only role: SELECT on usage_events for the Org usage dashboard, when it exists

The role (GRAFANA_ROLE) is a CloudNativePG managed role (kustomize/datastores/postgres.yaml),
created before the services' migrations run; where it does not exist (local runs, tests) this
revision grants nothing. Only usage_events: the dashboard reads nothing else
(tests/deploy/test_monitoring.py), and export jobs name the people who asked for them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GRAFANA_ROLE = "grafana_ro"  # spelled out in the statements below


def _role_exists() -> bool:
    if op.get_bind().dialect.name != "postgresql":
        return False
    query = sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role")
    return op.get_bind().execute(query, {"role": GRAFANA_ROLE}).first() is not None


def upgrade() -> None:
    if _role_exists():
        op.execute("GRANT USAGE ON SCHEMA public TO grafana_ro")
        op.execute("GRANT SELECT ON usage_events TO grafana_ro")


def downgrade() -> None:
    if _role_exists():
        op.execute("REVOKE SELECT ON usage_events FROM grafana_ro")
