"""mfa: TOTP secrets (sealed), recovery codes (hashed), and which sessions passed MFA

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _user() -> sa.Column[str]:
    return sa.Column(
        "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "user_totp",
        sa.Column(
            "user_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("secret_sealed", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("enabled_at", TS, nullable=True),
    )
    op.create_table(
        "mfa_recovery_codes",
        sa.Column("id", sa.String(36), primary_key=True),
        _user(),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("used_at", TS, nullable=True),
    )
    op.create_index("ix_mfa_recovery_codes_user_id", "mfa_recovery_codes", ["user_id"])
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("mfa", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("mfa")
    op.drop_index("ix_mfa_recovery_codes_user_id", "mfa_recovery_codes")
    op.drop_table("mfa_recovery_codes")
    op.drop_table("user_totp")
