"""Prompt templates (no FastAPI here). A template's versions are immutable: an update adds
the next one. Placeholders are checked here, with the parser the router renders with, so a
stored template always renders. Routers learn of every change through `prompt.updated`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aistrale_common.errors import Conflict, InvalidRequest, NotFound
from aistrale_common.governance.templates import (
    MalformedPlaceholder,
    PromptVersion,
    TemplateMessage,
    variables_of,
)
from aistrale_userorg.context import Context
from aistrale_userorg.orgs.service import load as load_org
from aistrale_userorg.principal import Principal
from aistrale_userorg.prompts import repository as repo
from aistrale_userorg.prompts.schemas import (
    PromptCreate,
    PromptPublic,
    PromptUpdate,
    PromptVersionPublic,
)
from aistrale_userorg.schemas import Page, page_of
from aistrale_userorg.util import as_utc, as_utc_or_none, new_id, utcnow


def _variables(messages: list[TemplateMessage]) -> list[str]:
    try:
        return variables_of(m.content for m in messages)
    except MalformedPlaceholder as exc:
        raise InvalidRequest(
            f"{exc}: placeholders are {{{{name}}}} with a name of letters, digits and "
            "underscores, not starting with a digit",
            param="messages",
            code="invalid_placeholder",
        ) from None


def _public(head: dict[str, Any], version: dict[str, Any]) -> PromptPublic:
    return PromptPublic(
        id=head["id"],
        org_id=head["org_id"],
        name=head["name"],
        description=head["description"],
        version=version["version"],
        latest_version=head["latest_version"],
        messages=version["messages"],
        model=version["model"],
        variables=version["variables"],
        created_at=as_utc(head["created_at"]),
        updated_at=as_utc(head["updated_at"]),
        archived_at=as_utc_or_none(head["archived_at"]),
    )


def _version_public(row: dict[str, Any]) -> PromptVersionPublic:
    return PromptVersionPublic(
        prompt_id=row["prompt_id"],
        version=row["version"],
        messages=row["messages"],
        model=row["model"],
        variables=row["variables"],
        created_at=as_utc(row["created_at"]),
        created_by=row["created_by"],
    )


async def _head(
    session: AsyncSession, org_id: str, prompt_id: str, *, for_update: bool = False
) -> dict[str, Any]:
    await load_org(session, org_id)
    head = await repo.get(session, org_id, prompt_id, for_update=for_update)
    if head is None:  # another org's template is as unknown as a missing one
        raise NotFound("Prompt template not found", param="prompt_id", code="prompt_not_found")
    return head


async def _version(session: AsyncSession, prompt_id: str, number: int) -> dict[str, Any]:
    row = await repo.version(session, prompt_id, number)
    if row is None:
        raise NotFound(
            f"Prompt template has no version {number}", param="version", code="version_not_found"
        )
    return row


def _version_row(
    actor: Principal,
    prompt_id: str,
    number: int,
    body: PromptUpdate | PromptCreate,
    variables: list[str],
) -> dict[str, Any]:
    return {
        "prompt_id": prompt_id,
        "version": number,
        "messages": [m.model_dump() for m in body.messages],
        "model": body.model,
        "variables": variables,
        "created_at": utcnow(),
        "created_by": actor.id,
    }


async def create(ctx: Context, actor: Principal, org_id: str, body: PromptCreate) -> PromptPublic:
    prompt_id = new_id()
    async with ctx.uow.write(actor, "prompt.create", org_id=org_id, target=prompt_id) as tx:
        ctx.authz.check(actor, "prompt.write", org_id)
        variables = _variables(body.messages)
        await load_org(tx.session, org_id)
        now = utcnow()
        head = {
            "id": prompt_id,
            "org_id": org_id,
            "name": body.name,
            "description": body.description,
            "latest_version": 1,
            "created_at": now,
            "updated_at": now,
            "archived_at": None,
        }
        await repo.insert(tx.session, **head)
        version = _version_row(actor, prompt_id, 1, body, variables)
        await repo.add_version(tx.session, **version)
        tx.about.details = {"name": body.name, "version": 1, "variables": variables}
        tx.emit("prompt.updated", org_id, prompt_id=prompt_id)
    return _public(head, version)


async def update(
    ctx: Context, actor: Principal, org_id: str, prompt_id: str, body: PromptUpdate
) -> PromptPublic:
    async with ctx.uow.write(actor, "prompt.update", org_id=org_id, target=prompt_id) as tx:
        ctx.authz.check(actor, "prompt.write", org_id)
        variables = _variables(body.messages)
        head = await _head(tx.session, org_id, prompt_id, for_update=True)
        if head["archived_at"] is not None:
            raise Conflict("An archived prompt template cannot change", code="prompt_archived")
        number = head["latest_version"] + 1
        version = _version_row(actor, prompt_id, number, body, variables)
        await repo.add_version(tx.session, **version)
        changes = {"updated_at": version["created_at"]}
        if body.description is not None:
            changes["description"] = body.description
        await repo.set_latest(tx.session, prompt_id, number, **changes)
        head = {**head, **changes, "latest_version": number}
        tx.about.details = {"version": number, "variables": variables}
        tx.emit("prompt.updated", org_id, prompt_id=prompt_id)
    return _public(head, version)


async def get(
    ctx: Context, actor: Principal, org_id: str, prompt_id: str, number: int | None
) -> PromptPublic:
    ctx.authz.check(actor, "prompt.read", org_id)
    async with ctx.db.session() as session:
        head = await _head(session, org_id, prompt_id)
        version = await _version(session, prompt_id, number or head["latest_version"])
    return _public(head, version)


async def list_prompts(
    ctx: Context, actor: Principal, org_id: str, archived: bool, limit: int, offset: int
) -> Page[PromptPublic]:
    ctx.authz.check(actor, "prompt.read", org_id)
    async with ctx.db.session() as session:
        await load_org(session, org_id)
        heads = await repo.list_for_org(session, org_id, archived, limit + 1, offset)
        items = [_public(h, await _version(session, h["id"], h["latest_version"])) for h in heads]
    return page_of(items, limit, offset)


async def versions(
    ctx: Context, actor: Principal, org_id: str, prompt_id: str
) -> list[PromptVersionPublic]:
    ctx.authz.check(actor, "prompt.read", org_id)
    async with ctx.db.session() as session:
        await _head(session, org_id, prompt_id)
        rows = await repo.versions(session, prompt_id)
    return [_version_public(r) for r in rows]


async def archive(ctx: Context, actor: Principal, org_id: str, prompt_id: str) -> None:
    async with ctx.uow.write(actor, "prompt.archive", org_id=org_id, target=prompt_id) as tx:
        ctx.authz.check(actor, "prompt.write", org_id)
        head = await _head(tx.session, org_id, prompt_id, for_update=True)
        if head["archived_at"] is None:
            await repo.archive(tx.session, prompt_id, utcnow())
        tx.emit("prompt.updated", org_id, prompt_id=prompt_id)


async def for_router(
    ctx: Context, actor: Principal, org_id: str, prompt_id: str, number: int | None
) -> PromptVersion:
    """The version a request asks for; an archived template is gone for requests."""
    ctx.authz.check(actor, "internal.prompts.read")
    async with ctx.db.session() as session:
        head = await repo.get(session, org_id, prompt_id)
        if head is None or head["archived_at"] is not None:
            raise NotFound("Prompt template not found", param="prompt.id", code="prompt_not_found")
        row = await repo.version(session, prompt_id, number or head["latest_version"])
    if row is None:
        raise NotFound(
            f"Prompt template has no version {number}",
            param="prompt.version",
            code="version_not_found",
        )
    return PromptVersion(
        id=prompt_id,
        org_id=org_id,
        name=head["name"],
        version=row["version"],
        messages=row["messages"],
        model=row["model"],
        variables=row["variables"],
    )
