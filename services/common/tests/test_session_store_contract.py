"""The session port: the in-process store and Redis behave alike, and the manager's idle
and absolute timeouts, roles refresh and CSRF check hold over both."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from aistrale_common.errors import AuthenticationFailed, PermissionDenied
from aistrale_common.sessions import MemorySessionStore, RedisSessionStore, SessionManager
from aistrale_common.sessions.manager import check_csrf
from aistrale_common.sessions.store import SessionStore
from aistrale_testkit.fixtures import Infra


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, infra: Infra) -> AsyncIterator[SessionStore]:
    made: SessionStore
    if request.param == "memory":
        made = MemorySessionStore()
    else:
        made = RedisSessionStore.from_url(infra.redis_url, f"{infra.redis_prefix}{uuid.uuid4()}:")
    yield made
    await made.aclose()


async def test_a_session_resolves_to_what_was_stored(store: SessionStore) -> None:
    manager = SessionManager(store)
    made = await manager.create("u1", "ada@example.com", False, {"org1": "owner"})
    got = await manager.resolve(made.session_id)
    assert got.user_id == "u1" and got.orgs == {"org1": "owner"}
    assert got.csrf_token == made.record.csrf_token
    assert got.claims().role_in("org1") == "owner"


async def test_an_unknown_or_ended_session_is_refused(store: SessionStore) -> None:
    manager = SessionManager(store)
    with pytest.raises(AuthenticationFailed):
        await manager.resolve("not-a-session")
    made = await manager.create("u1", None, False, {})
    await manager.end(made.session_id)
    with pytest.raises(AuthenticationFailed):
        await manager.resolve(made.session_id)


async def test_the_store_keys_by_hash_not_by_the_cookie_value(store: SessionStore) -> None:
    manager = SessionManager(store)
    made = await manager.create("u1", None, False, {})
    assert await store.get(made.session_id) is None


async def test_idle_timeout_moves_with_use_absolute_does_not(store: SessionStore) -> None:
    clock = Clock()
    manager = SessionManager(store, idle_timeout_s=100, absolute_timeout_s=250, clock=clock)
    made = await manager.create("u1", None, False, {})
    for _ in range(2):  # used every 90 s: never idle for 100 s
        clock.now += 90
        await manager.resolve(made.session_id)
    clock.now += 90  # 270 s after sign-in: past the absolute limit though recently used
    with pytest.raises(AuthenticationFailed):
        await manager.resolve(made.session_id)
    idle = await manager.create("u2", None, False, {})
    clock.now += 101
    with pytest.raises(AuthenticationFailed):
        await manager.resolve(idle.session_id)


async def test_the_store_itself_forgets_an_expired_session(store: SessionStore) -> None:
    manager = SessionManager(store, idle_timeout_s=0.3, absolute_timeout_s=60)
    made = await manager.create("u1", None, False, {})
    await asyncio.sleep(0.5)
    assert await store.get(manager_key(made.session_id)) is None


async def test_roles_refresh_is_seen_by_the_next_resolve(store: SessionStore) -> None:
    manager = SessionManager(store)
    made = await manager.create("u1", None, False, {"org1": "viewer"})
    await manager.refresh_roles(made.session_id, made.record, {"org1": "admin"}, True)
    got = await manager.resolve(made.session_id)
    assert got.orgs == {"org1": "admin"} and got.platform_admin


def manager_key(session_id: str) -> str:
    import hashlib

    return hashlib.sha256(session_id.encode()).hexdigest()


async def test_csrf_is_required_on_mutating_methods_only(store: SessionStore) -> None:
    record = (await SessionManager(store).create("u1", None, False, {})).record
    check_csrf(record, "GET", None)
    check_csrf(record, "POST", record.csrf_token)
    for method, header in (("POST", None), ("DELETE", "wrong"), ("PUT", ""), ("PATCH", None)):
        with pytest.raises(PermissionDenied):
            check_csrf(record, method, header)


def test_cookies_are_secure_outside_development() -> None:
    from starlette.responses import Response

    from aistrale_common.sessions import SessionCookies

    response = Response()
    SessionCookies(secure=True).set(response, "sid", "csrf", 3600)
    session, csrf = response.headers.getlist("set-cookie")
    for attribute in ("Secure", "SameSite=strict", "Path=/", "Max-Age=3600"):
        assert attribute in session and attribute in csrf
    assert "HttpOnly" in session and "HttpOnly" not in csrf


async def test_ending_a_users_sessions_spares_later_ones_and_other_users(
    store: SessionStore,
) -> None:
    clock = Clock()
    manager = SessionManager(store, clock=clock)
    old = await manager.create("u1", None, False, {})
    other = await manager.create("u2", None, False, {})
    clock.now += 1
    await manager.end_user("u1")
    clock.now += 1
    new = await manager.create("u1", None, False, {})
    with pytest.raises(AuthenticationFailed):
        await manager.resolve(old.session_id)
    assert (await manager.resolve(new.session_id)).user_id == "u1"
    assert (await manager.resolve(other.session_id)).user_id == "u2"
