"""The live catalog: read from AISTRALE_MODELS_FILE and reloaded when the file changes.

A file that fails to parse is logged and ignored: the last good catalog keeps serving.
The platform keys its deployments name (`api_key_env`) are read with each load.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import ValidationError

from aistrale_common.logging import get_logger
from aistrale_common.tasks import every
from aistrale_router.catalog.schema import Catalog, Deployment
from aistrale_router.providers.credentials import platform_keys

log = get_logger(__name__)


def read_catalog(path: Path) -> Catalog:
    """An absent file is an empty catalog, so the router starts before models are set up."""
    if not path.exists():
        return Catalog()
    loaded = yaml.safe_load(path.read_text()) or {}
    return Catalog.model_validate(loaded)


class CatalogStore:
    def __init__(self, path: Path, environ: Mapping[str, str] | None = None) -> None:
        """`environ` (the lifespan hands over os.environ) holds the platform keys; the
        catalog names the variables, never the secrets (secrets stay out of git)."""
        self.path = path
        self._environ: Mapping[str, str] = environ or {}
        self._stamp = self._file_stamp()
        self.catalog = read_catalog(path)
        self.version = 0
        # One dict for the process, refreshed in place: CredentialResolver holds it.
        self.platform_keys: dict[str, str] = {}
        self._read_platform_keys()

    def _read_platform_keys(self) -> None:
        names = (d.api_key_env for m in self.catalog.models for d in m.deployments)
        found = platform_keys(names, self._environ)
        self.platform_keys.clear()
        self.platform_keys.update(found)

    def platform_key(self, deployment: Deployment) -> str | None:
        return self.platform_keys.get(deployment.api_key_env) if deployment.api_key_env else None

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
        self._read_platform_keys()
        self.version += 1
        log.info("catalog_reloaded", path=str(self.path), models=len(self.catalog.models))
        return True

    async def watch(self, interval_s: float) -> None:
        """Polls the file's mtime and size; cheap, and works on every filesystem."""

        async def poll() -> None:
            self.reload_if_changed()

        await every(interval_s, poll, failure_event="catalog_poll_failed", first_after_s=interval_s)
