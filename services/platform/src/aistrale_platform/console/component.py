"""The console as a platform component: builds the bundle in a thread after the services
start (they serve meanwhile), then the site serves it. /ready shows its state."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aistrale_common.console_site import ConsoleSite
from aistrale_common.logging import get_logger
from aistrale_common.tasks import stop_task
from aistrale_platform.console.build import ConsoleBuild
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
        failure = await _build_in_child(source, settings.console_cache_dir)
        bundle = build.cached()
        if failure is not None or bundle is None:
            log.error("console_build_failed", error=failure)
            self.site.failed(failure or "the build left no bundle")
            return
        log.info("console_build_done", bundle=str(bundle))
        self.site.ready(bundle)


async def _build_in_child(source: Path, cache_dir: Path) -> str | None:
    """None when built; else what went wrong. Cancelled (the platform stops): the child and
    its npm are ended with it."""
    # Below the gateway's priority: it serves while this builds.
    nice = ["nice", "-n", "10"] if shutil.which("nice") else []
    proc = await asyncio.create_subprocess_exec(
        *nice, sys.executable, "-m", "aistrale_platform.console.build", str(source), str(cache_dir),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        _, err = await proc.communicate()
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        await proc.wait()
        raise
    return None if proc.returncode == 0 else err.decode(errors="replace").strip()
