"""`build_app` keeps the typed state its lifespan yields; /ready and `app_state` read it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from aistrale_common.app import build_app
from aistrale_common.errors import ServiceUnavailable
from aistrale_common.health import Check
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.service_state import app_runtime, app_state
from aistrale_common.settings import ServiceSettings


async def _fine() -> None:
    return None


@dataclass
class Opened:
    name: str

    def checks(self) -> dict[str, Check]:
        return {"thing": _fine}


@dataclass
class Other:
    def checks(self) -> dict[str, Check]:
        return {}


def _app(closed: list[str]) -> FastAPI:
    @asynccontextmanager
    async def open_state(app: FastAPI) -> AsyncIterator[Opened]:
        yield Opened("db")
        closed.append("db")

    return build_app("state_t", ServiceSettings(), ServiceMetrics("state_t"), open_state)


async def test_the_state_is_there_only_while_the_lifespan_runs() -> None:
    closed: list[str] = []
    app = _app(closed)
    with pytest.raises(ServiceUnavailable):
        app_state(app, Opened)
    async with app.router.lifespan_context(app):
        assert app_state(app, Opened) == Opened("db")
        with pytest.raises(TypeError):
            app_state(app, Other)
    assert closed == ["db"]
    with pytest.raises(ServiceUnavailable):
        app_state(app, Opened)


async def test_ready_reports_the_states_checks_once_started() -> None:
    app = _app([])
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t")
    async with client:
        before = await client.get("/ready")
        assert before.status_code == 503
        assert set(before.json()["checks"]) == {"lifespan"}
        async with app.router.lifespan_context(app):
            during = await client.get("/ready")
    assert during.status_code == 200
    assert during.json()["checks"] == {"thing": "ok"}
    assert app_runtime(app).service == "state_t"
