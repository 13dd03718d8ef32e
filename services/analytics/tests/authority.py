"""A real user-org, in process, as the analytics API's authorization authority.

Analytics trusts no role claim: it asks user-org. The tests' tokens are minted for users
seeded here with the roles the tests name (one user per org and role).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from asgi_lifespan import LifespanManager

from aistrale_common.auth.admin_token import AdminClaims, Role, issue_admin_token
from aistrale_common.service_state import app_state
from aistrale_userorg.app import create_app as create_userorg
from aistrale_userorg.context import Context
from aistrale_userorg.migrate import migrate_async
from aistrale_userorg.principal import ROLES
from aistrale_userorg.settings import Settings as UserOrgSettings
from aistrale_userorg.tables import memberships, orgs, users

SECRET = "test-secret-for-analytics-0123456789"
SERVICE_TOKEN = "analytics-test-service-token"
PLATFORM_ADMIN = "platform-admin"


def user_id(org_id: str, role: Role) -> str:
    return f"{org_id}-{role}"


def token(orgs_roles: dict[str, Role], *, platform_admin: bool = False) -> dict[str, str]:
    """A token of the seeded user holding the (first) role named; claims are decoration."""
    sub = PLATFORM_ADMIN if platform_admin else user_id(*next(iter(orgs_roles.items())))
    claims = AdminClaims(sub=sub, orgs=orgs_roles, platform_admin=platform_admin)
    return {"Authorization": f"Bearer {issue_admin_token(claims, SECRET, timedelta(minutes=5))}"}


async def _seed(context: Context, org_ids: Iterable[str]) -> None:
    db = context.db
    now = datetime.now(UTC)
    async with db.transaction() as session:
        await session.execute(
            sa.insert(users).values(
                id=PLATFORM_ADMIN, email="pa@analytics.test", platform_admin=True, created_at=now
            )
        )
        for org_id in org_ids:
            await session.execute(sa.insert(orgs).values(id=org_id, name=org_id, created_at=now))
            for role in ROLES:
                uid = user_id(org_id, role)
                await session.execute(
                    sa.insert(users).values(id=uid, email=f"{uid}@analytics.test", created_at=now)
                )
                await session.execute(
                    sa.insert(memberships).values(
                        org_id=org_id, user_id=uid, role=role, created_at=now
                    )
                )


@asynccontextmanager
async def authority(tmp: Path, org_ids: Iterable[str]) -> AsyncIterator[httpx.ASGITransport]:
    """user-org on SQLite, seeded; yields the transport analytics reaches it through."""
    settings = UserOrgSettings(
        environment="test",
        data_dir=tmp / "userorg",
        jwt_secret=SECRET,
        service_token=SERVICE_TOKEN,
        last_used_consumer=False,
        log_level="WARNING",
    )
    await migrate_async(settings)
    app = create_userorg(settings)
    async with LifespanManager(app):
        await _seed(app_state(app, Context), org_ids)
        yield httpx.ASGITransport(app=app)
