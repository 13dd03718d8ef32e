"""Run by test_sentry.py in a process of its own (Sentry's client is process-wide): a
service app built by build_app whose one route fails, called once; prints its request id."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
import sentry_sdk
from fastapi import FastAPI

from aistrale_common.app import build_app
from aistrale_common.health import Check
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.settings import ServiceSettings


class _State:
    def checks(self) -> Mapping[str, Check]:
        return {}


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[_State]:
    yield _State()


async def main(dsn: str | None) -> None:
    settings = ServiceSettings(sentry_dsn=dsn, log_level="INFO")
    app = build_app("sentry-check", settings, ServiceMetrics("sentry-check"), _lifespan)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("the handler failed")

    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        key = "sk-" + secrets.token_hex(16)  # made here: Sentry sends this file's source lines
        headers = {"authorization": f"Bearer {key}", "x-request-id": "sentry-check-1"}
        answer = await client.get("/boom", headers=headers)
    assert answer.status_code == 500, answer.text
    print("sentry-check-1", sentry_sdk.get_client().is_active(), key, flush=True)
    sentry_sdk.flush(timeout=10)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
