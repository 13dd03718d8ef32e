"""Routing tags on keys and orgs (`premium`, `eu-only`): one spelling for every service.

user-org validates them on the admin API, the key lookup carries them, and the router's
catalog rules name them (docs/router.md "Routing rules"). Lower-case, so `Premium` and
`premium` cannot be two tags that look alike in a catalog.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

TAG_PATTERN = r"^[a-z0-9][a-z0-9._:-]{0,63}$"
MAX_TAGS = 32

Tag = Annotated[str, StringConstraints(strip_whitespace=True, pattern=TAG_PATTERN)]


def _unique(tags: list[str]) -> list[str]:
    """Sorted and without repeats: the same set is always the same value (audit, events)."""
    return sorted(set(tags))


TagList = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_unique)]
