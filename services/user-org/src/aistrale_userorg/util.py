"""Small helpers every domain uses: ids and UTC time."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import sqlalchemy as sa

from aistrale_common.errors import Conflict


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def as_utc(value: datetime) -> datetime:
    # SQLite hands timestamps back naive; they were stored as UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


@contextlib.contextmanager
def integrity_as_conflict(message: str, param: str | None = None) -> Iterator[None]:
    """A unique constraint the database enforced becomes a 409 (never a 500)."""
    try:
        yield
    except sa.exc.IntegrityError as exc:
        raise Conflict(message, param=param) from exc
