"""Swagger UI served by the service itself, so `<prefix>/docs` works with no internet.

FastAPI's own page loads Swagger UI's script and stylesheet from a CDN: offline, or behind
a strict firewall, that is a white page. The files come from the `swagger-ui-bundle-v2`
package (Swagger UI 5, which reads the OpenAPI 3.1 documents FastAPI writes) and are
served under `<prefix>/docs/assets/`, inside the service's own prefix, so one host can
route every service's docs by path as it routes the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

ASSETS = "/assets"


def assets_dir() -> Path:
    """The package's `vendor/swagger-ui-<version>` folder (found, not imported: untyped)."""
    vendor = Path(str(files("swagger_ui_bundle"))) / "vendor"
    return max(vendor.glob("swagger-ui-*"))


def serve_docs_locally(app: FastAPI) -> None:
    """Replaces the page FastAPI put at `app.docs_url` by one whose files this app serves."""
    if not (app.docs_url and app.openapi_url):
        return
    assets = f"{app.docs_url}{ASSETS}"
    page = Route(app.docs_url, _page(app, assets), include_in_schema=False)
    files = Mount(assets, StaticFiles(directory=assets_dir()), name="swagger-ui")
    app.router.routes[:] = [_swap(route, app.docs_url, page) for route in app.router.routes]
    app.router.routes.append(files)


def _swap(route: BaseRoute, path: str, page: Route) -> BaseRoute:
    return page if isinstance(route, Route) and route.path == path else route


def _page(app: FastAPI, assets: str) -> Callable[[Request], Awaitable[HTMLResponse]]:
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API docs",
            swagger_js_url=f"{root}{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{assets}/swagger-ui.css",
            swagger_favicon_url=f"{root}{assets}/favicon-32x32.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    return swagger_ui
