"""user-org's tables (SQLAlchemy Core metadata; the migrations are the source of truth)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

orgs = sa.Table(
    "orgs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("rpm_limit", sa.Integer, nullable=True),
    sa.Column("tpm_limit", sa.Integer, nullable=True),
    # 0008 (org_policy/): request-body logging opt-in and data residency.
    sa.Column("log_bodies", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("log_retention_days", sa.Integer, nullable=True),
    sa.Column("allowed_regions", sa.JSON, nullable=True),
    sa.Column("tags", sa.JSON, nullable=True),  # routing tags (aistrale_common.tags); null: none
    sa.Column("queue_wait_s", sa.Float, nullable=True),  # 0011: null inherits
    sa.Column("queue_priority", sa.Integer, nullable=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(100), nullable=True),
    sa.Column("platform_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TS, nullable=False),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Index("ix_memberships_user_id", "user_id"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("project_id", sa.String(64), nullable=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("created_by", sa.String(36), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=True),
    sa.Column("revoked_at", TS, nullable=True),
    sa.Column("allowed_models", sa.JSON, nullable=True),
    sa.Column("rpm_limit", sa.Integer, nullable=True),
    sa.Column("tpm_limit", sa.Integer, nullable=True),
    sa.Column("last_used_at", TS, nullable=True),
    # Keys that require HMAC-signed requests: the signing secret, sealed under the KEK.
    sa.Column("signing_secret_sealed", sa.Text, nullable=True),
    sa.Column("tags", sa.JSON, nullable=True),  # routing tags (aistrale_common.tags); null: none
    sa.Column("queue_wait_s", sa.Float, nullable=True),  # 0011: null inherits
    sa.Column("queue_priority", sa.Integer, nullable=True),
    sa.Index("ix_api_keys_org_id", "org_id"),
)

budgets = sa.Table(
    "budgets",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("scope", sa.String(8), nullable=False),  # org | key
    sa.Column("scope_id", sa.String(36), nullable=False),
    sa.Column("limit_micro_usd", sa.BigInteger, nullable=False),
    sa.Column("period", sa.String(8), nullable=False),  # day | month | total
    sa.Column("updated_at", TS, nullable=False),
    sa.UniqueConstraint("scope", "scope_id", name="uq_budgets_scope"),
    sa.Index("ix_budgets_org_id", "org_id"),
)

# Org-owned provider keys (BYOK): only the envelope-sealed value is stored, never plaintext.
provider_credentials = sa.Table(
    "provider_credentials",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("sealed", sa.Text, nullable=False),  # v1.<kek id>.<wrapped DEK>.<nonce>.<ct>
    sa.Column("kek_id", sa.String(32), nullable=False),  # the rotation job's filter
    sa.Column("last4", sa.String(4), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.String(36), nullable=True),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("rotated_at", TS, nullable=True),
    sa.UniqueConstraint("org_id", "provider", name="uq_provider_credentials_org_provider"),
    sa.Index("ix_provider_credentials_kek_id", "kek_id"),
)

# Adding a member invites them: only the token's hash is kept; accepted once.
invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_by", sa.String(36), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("accepted_at", TS, nullable=True),
    sa.Index("ix_invitations_org_id", "org_id"),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("family_id", sa.String(36), nullable=False, index=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("used_at", TS, nullable=True),
    sa.Column("revoked_at", TS, nullable=True),
    sa.Column("mfa", sa.Boolean, nullable=False, server_default=sa.false()),  # session passed MFA
)

# TOTP (RFC 6238) per user: the secret sealed under the credentials KEK; enabled once a
# first code is verified. Recovery codes: SHA-256 only, each usable once.
user_totp = sa.Table(
    "user_totp",
    metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("secret_sealed", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("enabled_at", TS, nullable=True),
)

mfa_recovery_codes = sa.Table(
    "mfa_recovery_codes",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("used_at", TS, nullable=True),
    sa.Index("ix_mfa_recovery_codes_user_id", "user_id"),
)

admin_api_keys = sa.Table(
    "admin_api_keys",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=True),
    sa.Column("revoked_at", TS, nullable=True),
    sa.Column("last_used_at", TS, nullable=True),
    sa.Index("ix_admin_api_keys_user_id", "user_id"),
)

login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("locked_until", TS, nullable=True),
    sa.Column("updated_at", TS, nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("routing_key", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("occurred_at", TS, nullable=False),
    sa.Column("actor_id", sa.String(36), nullable=True),
    sa.Column("actor_email", sa.String(320), nullable=True),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(200), nullable=True),
    sa.Column("org_id", sa.String(36), nullable=True),
    sa.Column("source_ip", sa.String(64), nullable=True),
    sa.Column("outcome", sa.String(64), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_log_org_id", "org_id"),
    sa.Index("ix_audit_log_occurred_at", "occurred_at"),
)

# One row: the chain's last sequence number and hash, so deleting the newest rows shows.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Prompt templates: a name per org, and immutable numbered versions of its messages.
prompts = sa.Table(
    "prompts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.String(2000), nullable=True),
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("archived_at", TS, nullable=True),
    sa.Index("ix_prompts_org_id", "org_id"),
)

prompt_versions = sa.Table(
    "prompt_versions",
    metadata,
    sa.Column("prompt_id", sa.ForeignKey("prompts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("messages", sa.JSON, nullable=False),
    sa.Column("model", sa.String(200), nullable=True),
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.String(36), nullable=True),
)

# One row per org that set guardrails; no row means every guardrail is off.
guardrails = sa.Table(
    "guardrails",
    metadata,
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)
