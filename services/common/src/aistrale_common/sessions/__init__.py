"""Console sessions: a server-side record behind an HTTP-only cookie.

user-org creates and ends them; user-org and analytics both resolve them, so a cookie
stands for the same principal as a bearer access token. The store is a port: Redis in
production, an in-process store in `make run`, one contract test over both.
"""

from aistrale_common.sessions.cookies import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SESSION_COOKIE,
    SessionCookies,
)
from aistrale_common.sessions.manager import SessionManager
from aistrale_common.sessions.record import SessionRecord
from aistrale_common.sessions.store import MemorySessionStore, RedisSessionStore, SessionStore

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "MemorySessionStore",
    "RedisSessionStore",
    "SessionCookies",
    "SessionManager",
    "SessionRecord",
    "SessionStore",
]
