"""The garbage collector set for a long-running server (docs/decisions/foundation-gc-freeze.md).

After startup the heap holds the long-lived objects of every library (FastAPI, pydantic,
SQLAlchemy, OpenTelemetry, the catalog): CPython's full collections walk all of them on
every pass, and the router measured 55-115 ms pauses under load. `gc.freeze()` at the end
of startup moves them out of the collector's sight for good; a higher first threshold makes
the young collections rarer, since most per-request objects are freed by reference counting
and only cycles wait for the collector.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # CPython's default: 700


def freeze_startup_heap() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
