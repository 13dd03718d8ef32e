"""The local model as a platform component: its lifespan and its line in /ready."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from aistrale_platform.localmodel.status import LocalModelStatus
from aistrale_platform.localmodel.supervisor import new_status, supervise
from aistrale_platform.settings import Settings


class LocalModel:
    name = "local-model"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.status: LocalModelStatus = new_status(settings)

    def lifespan(self) -> AbstractAsyncContextManager[None]:
        return supervise(self.settings, self.status)

    def describe(self) -> dict[str, Any]:
        return self.status.as_dict()
