"""A service's startup heap is frozen out of the collector's sight once startup is done."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI

from aistrale_common.app import build_app
from aistrale_common.health import Check
from aistrale_common.heap import YOUNG_THRESHOLD
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.settings import ServiceSettings


class NoChecks:
    def checks(self) -> dict[str, Check]:
        return {}


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()  # other tests see the default collector again
    gc.set_threshold(*threshold)


async def test_the_heap_is_frozen_after_startup_not_before(collector: None) -> None:
    during: list[int] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[NoChecks]:
        during.append(gc.get_freeze_count())  # still starting: nothing frozen yet
        yield NoChecks()

    app = build_app("t", ServiceSettings(), ServiceMetrics("heap_t"), lifespan)
    async with app.router.lifespan_context(app):
        assert during == [0]
        assert gc.get_freeze_count() > 10_000  # the libraries' objects, loaded by now
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
