"""Fixtures every router test shares."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aistrale_testkit.router.sdk import close_sdk_clients


@pytest.fixture(autouse=True)
async def _close_sdk_clients() -> AsyncIterator[None]:
    yield
    await close_sdk_clients()
