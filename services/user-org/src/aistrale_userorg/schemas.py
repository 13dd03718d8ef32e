"""Wire models shared by every domain: pages, errors, and the email/role field types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from aistrale_common.auth.admin_token import Role
from aistrale_common.ids import PathId as CommonPathId
from aistrale_userorg.util import as_utc

T = TypeVar("T")

# Always timezone-aware UTC on the wire (SQLite hands timestamps back naive; naive input
# is read as UTC).
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]

# Text we store or query with: no control characters (Postgres refuses NUL in text).
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# Deliberately permissive (admin@localhost is a valid development address); lower-cased.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$",
    ),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE),
]
# Ids in paths (aistrale_common.ids): anything id-shaped that is not ours is a 404, the rest 422.
PathId = CommonPathId
QueryText = Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)]
Limit = Annotated[int, Field(ge=1, le=1_000_000_000)]
# Queueing (docs/router.md "Queueing"): a key's or org's wait for room, and its place in
# the queue; null inherits (the key's from its org, the org's from the model and router).
QueueWait = Annotated[float, Field(ge=0, le=60, allow_inf_nan=False)]
QueuePriority = Annotated[int, Field(ge=0, le=9)]
QUEUE_WAIT = "Seconds a request may wait in the router's queue (0-60); null inherits"
QUEUE_PRIORITY = "Place in the router's queue, 0-9, higher served first; null inherits (0)"
RoleField = Role


class Page(BaseModel, Generic[T]):
    object: Literal["list"] = "list"
    data: list[T]
    has_more: bool
    next_offset: int | None = None


def page_of(items: list[T], limit: int, offset: int) -> Page[T]:
    """`items` was fetched with limit + 1 so that one extra row says whether more exist."""
    more = len(items) > limit
    return Page[T](data=items[:limit], has_more=more, next_offset=offset + limit if more else None)


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses a route can answer."""
    text = {
        400: "Invalid value (OpenAI's invalid_request_error)",
        401: "Missing, invalid or expired credentials",
        403: "Your role does not allow this",
        404: "Not found (also for ids in orgs you do not belong to)",
        409: "Conflicts with an existing resource",
        422: "Invalid input, with field-level details",
        429: "Too many failed attempts; see Retry-After",
    }
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}
