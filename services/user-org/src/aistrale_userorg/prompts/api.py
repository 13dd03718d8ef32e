"""HTTP: /admin/v1/orgs/{org_id}/prompts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from aistrale_userorg.deps import ContextDep, PageLimit, PageOffset, PrincipalDep
from aistrale_userorg.prompts import service
from aistrale_userorg.prompts.schemas import (
    PromptCreate,
    PromptPublic,
    PromptUpdate,
    PromptVersionPublic,
)
from aistrale_userorg.schemas import Page, PathId, errors

router = APIRouter(
    prefix="/admin/v1/orgs/{org_id}/prompts",
    tags=["prompts"],
    responses=errors(401, 403, 404, 422),
)
VersionQuery = Annotated[int | None, Query(ge=1, description="A version; the latest if unset")]
ArchivedQuery = Annotated[bool, Query(description="Include archived templates")]


@router.post("", status_code=201, summary="Create a prompt template", responses=errors(400))
async def create_prompt(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, body: PromptCreate
) -> PromptPublic:
    return await service.create(ctx, actor, org_id, body)


@router.get("", summary="List the org's prompt templates (latest versions)")
async def list_prompts(
    ctx: ContextDep,
    actor: PrincipalDep,
    org_id: PathId,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
    archived: ArchivedQuery = False,
) -> Page[PromptPublic]:
    return await service.list_prompts(ctx, actor, org_id, archived, limit, offset)


@router.get("/{prompt_id}", summary="A prompt template, at its latest or a given version")
async def get_prompt(
    ctx: ContextDep,
    actor: PrincipalDep,
    org_id: PathId,
    prompt_id: PathId,
    version: VersionQuery = None,
) -> PromptPublic:
    return await service.get(ctx, actor, org_id, prompt_id, version)


@router.put(
    "/{prompt_id}", summary="Add the next version of a template", responses=errors(400, 409)
)
async def update_prompt(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, prompt_id: PathId, body: PromptUpdate
) -> PromptPublic:
    return await service.update(ctx, actor, org_id, prompt_id, body)


@router.get("/{prompt_id}/versions", summary="Every version of a template, oldest first")
async def prompt_versions(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, prompt_id: PathId
) -> list[PromptVersionPublic]:
    return await service.versions(ctx, actor, org_id, prompt_id)


@router.delete("/{prompt_id}", status_code=204, summary="Archive a template (requests lose it)")
async def archive_prompt(
    ctx: ContextDep, actor: PrincipalDep, org_id: PathId, prompt_id: PathId
) -> Response:
    await service.archive(ctx, actor, org_id, prompt_id)
    return Response(status_code=204)
