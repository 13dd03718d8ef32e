"""One user-org and one analytics process for the security tests (started once)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from aistrale_testkit.fixtures import Infra
from tests.security.harness import Platform, platform


@pytest.fixture(scope="package")
def running(
    infra: Infra, create_pg_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp("security")
    with platform(infra, create_pg_database, tmp, "sec") as started:
        yield started
