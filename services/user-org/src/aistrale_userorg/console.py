"""In Kubernetes the console's bundle is baked into user-org's image and served here, at
/console (the ingress routes it to user-org): same origin as /admin/v1, so the session
cookie is SameSite=Strict-safe. `make run` serves it from the platform instead."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response

from aistrale_common.console_site import ConsoleSite


def console_router(bundle: Path) -> APIRouter:
    site = ConsoleSite()
    site.ready(bundle)
    router = APIRouter(include_in_schema=False)

    @router.get("/console")
    @router.get("/console/{rest:path}")
    async def console(request: Request) -> Response:
        return site.response_for(request.url.path)

    return router
