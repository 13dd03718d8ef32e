"""The ASGI app at /console (the web console's bundle), used by `make run`'s platform and by
user-org in Kubernetes: the bundle's files, index.html for every app route (the app routes
in the browser), and a page that says so while the bundle is being built."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

PREFIX = "/console"
State = Literal["building", "ready", "failed", "off"]
WAIT_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="3"><title>AISTRALE console</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>AISTRALE console</h1><p>{message}</p><p><a href="/">Back to the start page</a></p>
</body></html>"""
# Vite names assets by content hash: they never change, so browsers may keep them.
IMMUTABLE = {"cache-control": "public, max-age=31536000, immutable"}


@dataclass
class Status:
    state: State = "off"
    message: str = "The console is not built by this process (aistrale-platform run builds it)."
    bundle: Path | None = None


class ConsoleSite:
    def __init__(self) -> None:
        self.status = Status()

    def building(self) -> None:
        self.status = Status(
            "building",
            "The console is being built (the first time takes a minute); this page reloads.",
        )

    def ready(self, bundle: Path) -> None:
        self.status = Status("ready", "", bundle)

    def failed(self, message: str) -> None:
        self.status = Status("failed", f"The console could not be built: {message}")

    def describe(self) -> dict[str, str]:
        described: dict[str, str] = {"state": self.status.state}
        if self.status.message:
            described["message"] = self.status.message
        return described

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.response_for(scope["path"])(scope, receive, send)

    def response_for(self, path: str) -> Response:
        if path == PREFIX:
            return RedirectResponse(PREFIX + "/", status_code=308)
        bundle = self.status.bundle
        if bundle is None:
            page = WAIT_PAGE.format(message=html.escape(self.status.message))
            return HTMLResponse(page, status_code=503, headers={"retry-after": "3"})
        relative = path[len(PREFIX) + 1 :]
        target = (bundle / relative).resolve()
        if relative and target.is_file() and target.is_relative_to(bundle.resolve()):
            headers = IMMUTABLE if relative.startswith("assets/") else None
            return FileResponse(target, headers=headers)
        if relative.startswith("assets/"):
            return Response("not found", status_code=404, media_type="text/plain")
        return FileResponse(bundle / "index.html", headers={"cache-control": "no-cache"})
