"""Every route x every role x own org / other org, through real HTTP handlers and the Rego
policy: no cross-org read or write (always 404, never 403), no privilege escalation.

The expected answers are written here as a table, independently of the policy file.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from aistrale_testkit.fixtures import Infra
from aistrale_testkit.userorg import Running, make_settings
from aistrale_userorg.app import create_app
from aistrale_userorg.authz.engine import Authorizer, Policy
from aistrale_userorg.migrate import migrate_async
from aistrale_userorg.principal import Principal

ROLES = ("owner", "admin", "member", "billing", "viewer")
PASSWORD = "matrix-password"
ALL = frozenset(ROLES)
MANAGERS = frozenset({"owner", "admin"})
MONEY = frozenset({"owner", "admin", "billing"})


@dataclass
class World:
    app: Running
    own: str  # the org where each role user has its role
    other: str  # an org none of them belongs to
    users: dict[str, str]  # role -> user id (in `own`)


async def fresh(w: World) -> str:
    return f"u{uuid.uuid4().hex[:10]}@matrix.test"


async def add_member(w: World, org_id: str, role: str) -> str:
    return await w.app.new_member(org_id, await fresh(w), role, PASSWORD)


async def root_key(w: World, org_id: str) -> str:
    return str((await w.app.new_key(org_id))["id"])


async def with_budget(w: World, org_id: str, key_id: str | None = None) -> None:
    path = f"/admin/v1/orgs/{org_id}" + (f"/keys/{key_id}" if key_id else "") + "/budget"
    response = await w.app.client.put(
        path, json={"limit_micro_usd": 9, "period": "day"}, headers=await w.app.root()
    )
    assert response.status_code == 200


Build = Callable[[World, str, str], Awaitable[tuple[str, Any]]]


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    build: Build  # (world, target org, acting role) -> (path, json body)
    allowed: frozenset[str]
    success: int = 200
    fresh_org: bool = False  # the route destroys the org: give each case its own


async def _org(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}", None


async def _org_patch(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}", {"rpm_limit": 100}


async def _members(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/members", None


async def _member_add(w: World, o: str, r: str) -> tuple[str, Any]:
    body = {"email": await fresh(w), "role": "viewer"}
    return f"/admin/v1/orgs/{o}/members", body


async def _member_add_owner(w: World, o: str, r: str) -> tuple[str, Any]:
    body = {"email": await fresh(w), "role": "owner"}
    return f"/admin/v1/orgs/{o}/members", body


async def _member_role(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/members/{await add_member(w, o, 'viewer')}", {"role": "member"}


async def _member_promote(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/members/{await add_member(w, o, 'viewer')}", {"role": "owner"}


async def _member_demote_owner(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/members/{await add_member(w, o, 'owner')}", {"role": "viewer"}


async def _member_self_promote(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/members/{w.users[r]}", {"role": "owner"}


async def _member_remove(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/members/{await add_member(w, o, 'viewer')}", None


async def _member_remove_owner(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/members/{await add_member(w, o, 'owner')}", None


async def _keys(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/keys", None


async def _key_create(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/keys", {"name": "matrix"}


async def _key(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/keys/{await root_key(w, o)}", None


async def _key_patch(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/keys/{await root_key(w, o)}", {"tpm_limit": 5}


async def _budget(w: World, o: str, r: str) -> tuple[str, Any]:
    await with_budget(w, o)
    return f"/admin/v1/orgs/{o}/budget", None


async def _budget_put(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/budget", {"limit_micro_usd": 1000, "period": "month"}


async def _key_budget(w: World, o: str, r: str) -> tuple[str, Any]:
    key_id = await root_key(w, o)
    await with_budget(w, o, key_id)
    return f"/admin/v1/orgs/{o}/keys/{key_id}/budget", None


async def _key_budget_put(w: World, o: str, r: str) -> tuple[str, Any]:
    body = {"limit_micro_usd": 1000, "period": "total"}
    return f"/admin/v1/orgs/{o}/keys/{await root_key(w, o)}/budget", body


async def _stored_credential(w: World, o: str, r: str) -> tuple[str, Any]:
    path = f"/admin/v1/orgs/{o}/provider-credentials/openai"
    body = {"api_key": "sk-matrix-provider-key"}
    response = await w.app.client.put(path, json=body, headers=await w.app.root())
    assert response.status_code in (200, 201)
    return path, None


async def _credentials(w: World, o: str, r: str) -> tuple[str, Any]:
    await _stored_credential(w, o, r)
    return f"/admin/v1/orgs/{o}/provider-credentials", None


async def _credential_put(w: World, o: str, r: str) -> tuple[str, Any]:
    path, _ = await _stored_credential(w, o, r)  # stored already: a success is 200, not 201
    return path, {"api_key": f"sk-matrix-{r}-replacement"}


async def _org_audit(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/audit?org_id={o}", None


PROMPT = {"name": "matrix", "messages": [{"role": "system", "content": "Hi {{name}}"}]}


async def _stored_prompt(w: World, o: str, r: str) -> tuple[str, Any]:
    path = f"/admin/v1/orgs/{o}/prompts"
    response = await w.app.client.post(path, json=PROMPT, headers=await w.app.root())
    assert response.status_code == 201, response.text
    return f"{path}/{response.json()['id']}", None


async def _prompt_create(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/prompts", PROMPT


async def _prompts(w: World, o: str, r: str) -> tuple[str, Any]:
    await _stored_prompt(w, o, r)
    return f"/admin/v1/orgs/{o}/prompts", None


async def _prompt_update(w: World, o: str, r: str) -> tuple[str, Any]:
    path, _ = await _stored_prompt(w, o, r)
    return path, {"messages": PROMPT["messages"]}


async def _prompt_versions(w: World, o: str, r: str) -> tuple[str, Any]:
    path, _ = await _stored_prompt(w, o, r)
    return f"{path}/versions", None


async def _guardrails(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/guardrails", None


async def _guardrails_put(w: World, o: str, r: str) -> tuple[str, Any]:
    return f"/admin/v1/orgs/{o}/guardrails", {"pii": {"action": "redact"}}


ORG_ROUTES = (
    Route("org.get", "GET", _org, ALL),
    Route("org.update", "PATCH", _org_patch, MANAGERS),
    Route("org.delete", "DELETE", _org, frozenset({"owner"}), 204, fresh_org=True),
    Route("members.list", "GET", _members, ALL),
    Route("members.add", "POST", _member_add, MANAGERS, 202),
    Route("members.add_owner", "POST", _member_add_owner, frozenset({"owner"}), 202),
    Route("members.change_role", "PATCH", _member_role, MANAGERS),
    Route("members.promote_to_owner", "PATCH", _member_promote, frozenset({"owner"})),
    Route("members.demote_an_owner", "PATCH", _member_demote_owner, frozenset({"owner"})),
    Route("members.self_promote", "PATCH", _member_self_promote, frozenset({"owner"})),
    Route("members.remove", "DELETE", _member_remove, MANAGERS, 204),
    Route("members.remove_owner", "DELETE", _member_remove_owner, frozenset({"owner"}), 204),
    Route("keys.list", "GET", _keys, ALL),
    Route("keys.create", "POST", _key_create, frozenset({"owner", "admin", "member"}), 201),
    Route("keys.get", "GET", _key, ALL),
    Route("keys.update", "PATCH", _key_patch, MANAGERS),
    Route("keys.revoke", "DELETE", _key, MANAGERS, 204),
    Route("budget.get", "GET", _budget, ALL),
    Route("budget.put", "PUT", _budget_put, MONEY),
    Route("budget.delete", "DELETE", _budget, MONEY, 204),
    Route("key_budget.get", "GET", _key_budget, ALL),
    Route("key_budget.put", "PUT", _key_budget_put, MONEY),
    Route("key_budget.delete", "DELETE", _key_budget, MONEY, 204),
    Route("credentials.list", "GET", _credentials, MANAGERS),
    Route("credentials.put", "PUT", _credential_put, MANAGERS),
    Route("credentials.delete", "DELETE", _stored_credential, MANAGERS, 204),
    Route("audit.org", "GET", _org_audit, frozenset({"owner"})),
    Route("prompts.create", "POST", _prompt_create, MANAGERS, 201),
    Route("prompts.list", "GET", _prompts, ALL),
    Route("prompts.get", "GET", _stored_prompt, ALL),
    Route("prompts.update", "PUT", _prompt_update, MANAGERS),
    Route("prompts.versions", "GET", _prompt_versions, ALL),
    Route("prompts.archive", "DELETE", _stored_prompt, MANAGERS, 204),
    Route("guardrails.get", "GET", _guardrails, ALL),
    Route("guardrails.put", "PUT", _guardrails_put, MANAGERS),
)

# Routes that name no org: (name, method, path, body, success for a platform admin,
# success for any other signed-in user or None when they get 403).
GLOBAL_ROUTES: tuple[tuple[str, str, str, Any, int, int | None], ...] = (
    ("orgs.create", "POST", "/admin/v1/orgs", "org", 201, None),
    ("orgs.list", "GET", "/admin/v1/orgs", None, 200, 200),
    ("users.create", "POST", "/admin/v1/users", "user", 201, None),
    ("users.list", "GET", "/admin/v1/users", None, 200, None),
    ("users.me", "GET", "/admin/v1/users/me", None, 200, 200),
    ("admin_keys.create", "POST", "/admin/v1/users/me/admin-keys", {"name": "m"}, 201, 201),
    ("admin_keys.list", "GET", "/admin/v1/users/me/admin-keys", None, 200, 200),
    ("audit.all", "GET", "/admin/v1/audit", None, 200, None),
    ("audit.verify", "GET", "/admin/v1/audit/verify", None, 200, None),
    (
        "credentials.rotate_kek",
        "POST",
        "/admin/v1/provider-credentials/rotate-kek",
        None,
        200,
        None,
    ),
)
PRINCIPALS = ("platform_admin", *ROLES)


@pytest.fixture(scope="module")
async def world(
    infra: Infra, create_pg_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    settings = make_settings(
        infra,
        Path(tmp_path_factory.mktemp("matrix")),
        create_pg_database("matrix"),
    )
    await migrate_async(settings)
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://user-org") as client:
            running = Running(app=app, settings=settings, client=client)
            own, other = await running.new_org("own"), await running.new_org("other")
            await running.new_member(other, "owner@other.test", "owner", PASSWORD)
            users = {r: await running.new_member(own, f"{r}@own.test", r, PASSWORD) for r in ROLES}
            yield World(running, own, other, users)


async def headers_for(w: World, principal: str) -> dict[str, str]:
    if principal == "platform_admin":
        return await w.app.root()
    return await w.app.as_user(f"{principal}@own.test", PASSWORD)


async def call(w: World, method: str, path: str, body: Any, principal: str) -> httpx.Response:
    headers = await headers_for(w, principal)
    return await w.app.client.request(method, path, json=body, headers=headers)


async def target_org(w: World, route: Route, principal: str, own: bool) -> str:
    if not route.fresh_org:
        return w.own if own else w.other
    org_id = await w.app.new_org(f"fresh-{uuid.uuid4().hex[:8]}")
    if own and principal != "platform_admin":
        await w.app.new_member(org_id, f"{principal}@own.test", principal, PASSWORD)
    return org_id


ORG_CASES = [
    pytest.param(route, principal, own, id=f"{route.name}-{principal}-{'own' if own else 'other'}")
    for route in ORG_ROUTES
    for principal in PRINCIPALS
    for own in (True, False)
    if not (principal == "platform_admin" and not own)  # every org is "own" to them
]


@pytest.mark.parametrize(("route", "principal", "own"), ORG_CASES)
async def test_org_route(world: World, route: Route, principal: str, own: bool) -> None:
    org_id = await target_org(world, route, principal, own)
    acting = "owner" if principal == "platform_admin" else principal
    path, body = await route.build(world, org_id, acting)
    response = await call(world, route.method, path, body, principal)
    if not own:
        expected = 404  # never 403: the org's existence must not leak
    elif principal == "platform_admin" or principal in route.allowed:
        expected = route.success
    else:
        expected = 403
    assert response.status_code == expected, response.text


GLOBAL_CASES = [
    pytest.param(route, principal, id=f"{route[0]}-{principal}")
    for route in GLOBAL_ROUTES
    for principal in PRINCIPALS
]


@pytest.mark.parametrize(("route", "principal"), GLOBAL_CASES)
async def test_global_route(
    world: World, route: tuple[str, str, str, Any, int, int | None], principal: str
) -> None:
    _, method, path, body, admin_status, user_status = route
    if body == "org":
        body = {"name": f"g-{uuid.uuid4().hex[:8]}"}
    elif body == "user":
        body = {"email": await fresh(world), "password": PASSWORD}
    response = await call(world, method, path, body, principal)
    expected = admin_status if principal == "platform_admin" else (user_status or 403)
    assert response.status_code == expected, response.text
    if path == "/admin/v1/orgs" and method == "GET" and principal != "platform_admin":
        listed = {o["id"] for o in response.json()["data"]}
        me = await call(world, "GET", "/admin/v1/users/me", None, principal)
        assert listed == {o["org_id"] for o in me.json()["orgs"]}
        assert world.own in listed and world.other not in listed


INTERNAL = ("/internal/v1/keys/" + "0" * 64, "/internal/v1/orgs/{org}/provider-credentials/openai")


@pytest.mark.parametrize("path", INTERNAL)
@pytest.mark.parametrize("principal", PRINCIPALS)
async def test_admin_tokens_cannot_use_the_internal_api(
    world: World, principal: str, path: str
) -> None:
    await _stored_credential(world, world.own, principal)
    response = await call(world, "GET", path.format(org=world.own), None, principal)
    assert response.status_code == 401
    assert "sk-matrix" not in response.text


async def test_a_member_manages_only_its_own_keys(world: World) -> None:
    member = await headers_for(world, "member")
    mine = await world.app.new_key(world.own, headers=member)
    theirs = await world.app.new_key(world.own)
    base = f"/admin/v1/orgs/{world.own}/keys"
    assert (
        await world.app.client.patch(f"{base}/{theirs['id']}", json={"name": "x"}, headers=member)
    ).status_code == 403
    assert (
        await world.app.client.patch(f"{base}/{mine['id']}", json={"name": "x"}, headers=member)
    ).status_code == 200
    assert (
        await world.app.client.delete(f"{base}/{mine['id']}", headers=member)
    ).status_code == 204


async def test_the_last_owner_stays(world: World) -> None:
    org_id = await world.app.new_org(f"solo-{uuid.uuid4().hex[:8]}")
    owner = await world.app.new_member(org_id, "owner@own.test", "owner", PASSWORD)
    headers = await headers_for(world, "owner")
    path = f"/admin/v1/orgs/{org_id}/members/{owner}"
    demote = await world.app.client.patch(path, json={"role": "admin"}, headers=headers)
    assert demote.status_code == 409 and demote.json()["error"]["code"] == "last_owner"
    assert (await world.app.client.delete(path, headers=headers)).status_code == 409


def test_matrix_size() -> None:
    # Reported in the closing note; changes here mean the note needs updating.
    assert len(ORG_CASES) == 35 * 11
    assert len(GLOBAL_CASES) == 10 * 6


def test_deny_by_default() -> None:
    authz = Authorizer(Policy())
    root = Principal(kind="user", id="root", platform_admin=True)
    owner = Principal(kind="user", id="o", orgs={"org": "owner"})
    assert not authz.allows(owner, "no.such.action", "org")
    assert not authz.allows(Principal(kind="anonymous"), "org.read", "org")
    assert not authz.allows(Principal(kind="service"), "org.read", "org")
    assert not authz.allows(root, "internal.keys.read")  # not even platform admins
    assert not authz.allows(root, "internal.credentials.read")
    assert not authz.allows(root, "internal.prompts.read")
    assert not authz.allows(Principal(kind="service"), "prompt.read", "org")
    assert not authz.allows(Principal(kind="service"), "credential.read", "org")
    assert not authz.allows(owner, "credential.rotate_kek")  # platform admins only
    assert authz.allows(root, "credential.rotate_kek")
    assert authz.allows(root, "no.such.action")  # platform admins: everything admin-side
