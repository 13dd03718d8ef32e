"""One platform for the request-log and residency tests (started once: it is the slow part)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aistrale_testkit.fixtures import Infra
from tests.request_log.harness import Stack, stack


@pytest.fixture(scope="package")
def running(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with stack(infra, tmp_path_factory.mktemp("request_log")) as started:
        yield started
