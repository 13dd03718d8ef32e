"""provider_credentials: org-owned provider keys (BYOK), envelope-sealed

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "provider_credentials",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "org_id", sa.String(36), sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("kek_id", sa.String(32), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("rotated_at", TS, nullable=True),
        sa.UniqueConstraint("org_id", "provider", name="uq_provider_credentials_org_provider"),
    )
    op.create_index("ix_provider_credentials_kek_id", "provider_credentials", ["kek_id"])


def downgrade() -> None:
    op.drop_index("ix_provider_credentials_kek_id", "provider_credentials")
    op.drop_table("provider_credentials")
