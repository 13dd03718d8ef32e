"""Settings of the single-process platform (`make run`)."""

from __future__ import annotations

from aistrale_common.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8080
