"""What the lifespan opens and every request uses, in one typed place: user-org's
service state (aistrale_common.service_state), read by requests through deps.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from aistrale_common.auth.sessions import Revocations
from aistrale_common.crypto import KeyRing
from aistrale_common.db import Database
from aistrale_common.events import EventBus
from aistrale_common.health import Check
from aistrale_common.kv import KeyValue
from aistrale_common.resources import core_checks
from aistrale_common.sessions import SessionCookies, SessionManager
from aistrale_userorg.authz.engine import Authorizer
from aistrale_userorg.settings import Settings
from aistrale_userorg.uow import UnitOfWork


@dataclass
class Context:
    settings: Settings
    db: Database
    bus: EventBus
    authz: Authorizer
    uow: UnitOfWork
    jwt_secret: str
    service_token: str
    lookup_engine: AsyncEngine
    keyring: KeyRing  # seals and opens provider credentials
    sessions: SessionManager  # the console's cookie sessions (sessions/)
    cookies: SessionCookies
    revocations: Revocations  # ended sessions, shared with analytics (Redis or in process)
    kv: KeyValue  # the same store: login throttles per client address

    def checks(self) -> Mapping[str, Check]:
        return core_checks(self.db, self.bus)
