"""One measurement: wrk against a target, the CPU each of its processes spent, and (where
the target has consumers) how long they took to catch up afterwards."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.consumers import Settled
from bench.cpu import Finder, snapshot, used
from bench.target import Target
from bench.wrk import WrkResult, run_wrk


@dataclass(frozen=True)
class Measurement:
    target: str
    concurrency: int
    round: int
    wrk: WrkResult
    # CPU per request (µs) during the load, per process of the target, plus `wrk` and
    # `machine` (every process on the host: the rest is other tenants' load)
    cpu_us: dict[str, float] = field(default_factory=dict)
    # CPU per request (µs) after the load, until the consumers had caught up
    drain_cpu_us: dict[str, float] = field(default_factory=dict)
    drain_s: float | None = None  # None: no consumers, or not caught up within the wait
    consumers: dict[str, Any] | None = None


def _per_request(seconds: Mapping[str, float], requests: int) -> dict[str, float]:
    return {name: round(s / max(1, requests) * 1e6, 1) for name, s in seconds.items()}


def measure(
    target: Target,
    concurrency: int,
    index: int,
    *,
    duration_s: float,
    body: Path,
    shared: Mapping[str, Finder],
    drain_timeout_s: float,
) -> Measurement:
    """`shared`: processes every target goes through (the mock upstream)."""
    components = {**target.components, **shared}
    before = snapshot(components)
    result = run_wrk(target.url, concurrency, duration_s, body, target.authorization)
    ended = time.time()
    loaded = snapshot(components)
    cpu = {**used(before, loaded), "wrk": result.cpu_s}
    if target.consumers is None:
        return Measurement(
            target.name, concurrency, index, result, _per_request(cpu, result.requests)
        )
    settled = target.consumers.settle(ended, drain_timeout_s)
    drained = used(loaded, snapshot(components))
    return Measurement(
        target.name,
        concurrency,
        index,
        result,
        _per_request(cpu, result.requests),
        _per_request(drained, result.requests),
        settled.drain_s,
        consumer_report(settled),
    )


def consumer_report(settled: Settled) -> dict[str, Any]:
    state = settled.state
    return {
        "caught_up": state.caught_up,
        "router_requests": state.router_requests,
        "analytics_requests": state.analytics_requests,
        "queue_depths": state.queue_depths,
        "last_used_lag_s": settled.last_used_lag_s,
        "drain_s": settled.drain_s,
        "caught_up_s": settled.caught_up_s,
    }


def warm_up(target: Target, body: Path, drain_timeout_s: float) -> None:
    """Connections, key caches, leases and JIT-less warm paths, before the first round."""
    for concurrency in (64, 1):
        run_wrk(target.url, concurrency, 2, body, target.authorization)
    if target.consumers is not None:
        target.consumers.settle(time.time(), drain_timeout_s)
