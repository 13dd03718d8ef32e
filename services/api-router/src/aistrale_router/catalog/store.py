"""The live catalog: read from AISTRALE_MODELS_FILE and reloaded when the file changes.

A file that fails to parse is logged and ignored: the last good catalog keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from aistrale_common.logging import get_logger
from aistrale_router.catalog.schema import Catalog, Deployment

log = get_logger(__name__)


def read_catalog(path: Path) -> Catalog:
    """An absent file is an empty catalog, so the router starts before models are set up."""
    if not path.exists():
        return Catalog()
    loaded = yaml.safe_load(path.read_text()) or {}
    return Catalog.model_validate(loaded)


def deployment_api_key(deployment: Deployment) -> str | None:
    # The catalog names the variable, never the secret itself (secrets stay out of git).
    return os.environ.get(deployment.api_key_env) if deployment.api_key_env else None


class CatalogStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp = self._file_stamp()
        self.catalog = read_catalog(path)
        self.version = 0

    def _file_stamp(self) -> tuple[int, int] | None:
        with contextlib.suppress(OSError):
            stat = self.path.stat()
            return stat.st_mtime_ns, stat.st_size
        return None

    def reload_if_changed(self) -> bool:
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            self.catalog = read_catalog(self.path)
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            log.error("catalog_reload_failed", path=str(self.path), error=str(exc)[:500])
            return False
        self.version += 1
        log.info("catalog_reloaded", path=str(self.path), models=len(self.catalog.models))
        return True

    async def watch(self, interval_s: float) -> None:
        """Polls the file's mtime and size; cheap, and works on every filesystem."""
        while True:
            await asyncio.sleep(interval_s)
            self.reload_if_changed()
