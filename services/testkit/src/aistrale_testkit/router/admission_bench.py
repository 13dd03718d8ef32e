"""Micro-benchmark of the two limits-store calls on the hot path (admit in, settle out).

    python -m aistrale_testkit.router.admission_bench [--redis-url URL] [-n 2000] [--concurrency 32]

Without --redis-url it uses AISTRALE_REDIS_URL (Settings), or the in-process store. The key
carries the worst realistic load: key and org RPM and TPM, key and org budgets.
`measure()` is what `make bench` imports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis

from aistrale_router.admission.factory import build_gatekeeper
from aistrale_router.admission.port import AdmissionRequest, ManagedGatekeeper, Settlement
from aistrale_router.settings import Settings
from aistrale_testkit.router.admission import drop_keys, key, model

BIG = 10**15  # limits that never refuse: the benchmark measures the happy path


@dataclass(frozen=True)
class BenchResult:
    store: str
    n: int
    admit_p50_us: float
    admit_p99_us: float
    settle_p50_us: float
    settle_p99_us: float
    ping_p50_us: float  # a plain Redis PING on the same pool: the network floor
    server_us_per_script: float  # Redis's own time per EVALSHA (INFO commandstats delta)
    concurrency: int
    pairs_per_s: float  # admit+settle pairs per second at that concurrency


async def measure(redis_url: str | None, n: int = 2000, concurrency: int = 32) -> BenchResult:
    prefix = f"aistrale-bench:{uuid.uuid4().hex[:8]}:"
    gatekeeper = build_gatekeeper(Settings(), redis_url=redis_url, prefix=prefix)
    record = key(
        org_budget=BIG,
        key_budget=BIG,
        rpm_limit=BIG,
        tpm_limit=BIG,
        org_rpm_limit=BIG,
        org_tpm_limit=BIG,
    )
    request = AdmissionRequest(record, model(), 500, 256)
    try:
        for _ in range(50):  # warm up: connections, script cache
            await _pair(gatekeeper, request)
        admits, settles = [], []
        before = await _script_stats(redis_url)
        for _ in range(n):
            admit_s, settle_s = await _pair(gatekeeper, request)
            admits.append(admit_s)
            settles.append(settle_s)
        after = await _script_stats(redis_url)
        rate = await _throughput(gatekeeper, request, n, concurrency)
        ping = await _ping_p50(gatekeeper, n)
    finally:
        await gatekeeper.close()
        if redis_url:
            await drop_keys(redis_url, prefix)
    return BenchResult(
        store="redis" if redis_url else "memory",
        n=n,
        admit_p50_us=_us(statistics.median(admits)),
        admit_p99_us=_us(_p99(admits)),
        settle_p50_us=_us(statistics.median(settles)),
        settle_p99_us=_us(_p99(settles)),
        ping_p50_us=_us(ping),
        server_us_per_script=_per_call(before, after),
        concurrency=concurrency,
        pairs_per_s=round(rate),
    )


async def _pair(gatekeeper: ManagedGatekeeper, request: AdmissionRequest) -> tuple[float, float]:
    started = time.perf_counter()
    admission = await gatekeeper.admit(request)
    admitted = time.perf_counter()
    await gatekeeper.settle(admission, Settlement(500, 100, 700))
    return admitted - started, time.perf_counter() - admitted


async def _throughput(
    gatekeeper: ManagedGatekeeper, request: AdmissionRequest, n: int, concurrency: int
) -> float:
    async def worker(count: int) -> None:
        for _ in range(count):
            await _pair(gatekeeper, request)

    started = time.perf_counter()
    await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
    return (n // concurrency) * concurrency / (time.perf_counter() - started)


async def _ping_p50(gatekeeper: ManagedGatekeeper, n: int) -> float:
    check = gatekeeper.checks().get("limits")
    if check is None:
        return 0.0
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await check()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def _script_stats(redis_url: str | None) -> tuple[int, int]:
    """EVALSHA calls and microseconds so far (the server is shared: an approximation)."""
    if not redis_url:
        return 0, 0
    client: aioredis.Redis = aioredis.from_url(redis_url)
    try:
        stats = (await client.info("commandstats")).get("cmdstat_evalsha", {})
    finally:
        await client.aclose()
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


def _per_call(before: tuple[int, int], after: tuple[int, int]) -> float:
    calls = after[0] - before[0]
    return round((after[1] - before[1]) / calls, 1) if calls else 0.0


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def _us(seconds: float) -> float:
    return round(seconds * 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis-url", default=Settings().redis_url)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    result = asyncio.run(measure(args.redis_url or None, args.n, args.concurrency))
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
