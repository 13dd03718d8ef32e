"""Ids in URL paths, validated the same way in every service.

Our ids are UUIDs; anything id-shaped that is not one of ours is a 404 from the lookup,
the rest (a NUL byte, a newline, a slash, an overlong value) a validation error before any
query runs: Postgres refuses NUL in text, and that must not surface as a 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

PATH_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
PathId = Annotated[
    str, Path(pattern=PATH_ID_PATTERN, description="An id (up to 64 of A-Z a-z 0-9 _ . : -)")
]
