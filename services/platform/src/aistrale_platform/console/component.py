"""The console as a platform component: builds the bundle in a thread after the services
start (they serve meanwhile), then the site serves it. /ready shows its state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aistrale_common.console_site import ConsoleSite
from aistrale_common.logging import get_logger
from aistrale_common.tasks import stop_task
from aistrale_platform.console.build import BuildFailed, ConsoleBuild
from aistrale_platform.settings import Settings

log = get_logger(__name__)


class Console:
    name = "console"

    def __init__(self, settings: Settings, site: ConsoleSite) -> None:
        self._settings = settings
        self.site = site

    def describe(self) -> dict[str, Any]:
        return self.site.describe()

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._prepare(), name="console-build")
        try:
            yield
        finally:
            await stop_task(task)

    async def _prepare(self) -> None:
        settings = self._settings
        if settings.console_dist_dir is not None:  # a bundle built elsewhere (an image)
            self.site.ready(settings.console_dist_dir)
            return
        source = settings.console_source_dir
        if not (source / "package-lock.json").is_file():
            self.site.failed(f"no console sources in {source} (AISTRALE_CONSOLE_SOURCE_DIR)")
            return
        build = ConsoleBuild(source, settings.console_cache_dir)
        cached = build.cached()
        if cached is not None:
            self.site.ready(cached)
            return
        self.site.building()
        log.info("console_build_started", source=str(source))
        try:
            bundle = await asyncio.to_thread(build.ensure)
        except (BuildFailed, OSError) as exc:
            log.error("console_build_failed", error=str(exc))
            self.site.failed(str(exc))
            return
        log.info("console_build_done", bundle=str(bundle))
        self.site.ready(bundle)
