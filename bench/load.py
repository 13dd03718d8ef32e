"""The load generator: aiohttp (the cheaper client, so the generator disturbs least)."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

import aiohttp


@dataclass(frozen=True)
class Result:
    target: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    cpu_us_per_request: float | None = None  # the proxy's own CPU (direct: the upstream's)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_load(
    target: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    concurrency: int,
    requests: int,
    warmup: int,
) -> Result:
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        await _worker(session, url, body, headers, warmup, [], [0])
        latencies: list[float] = []
        errors = [0]
        per_worker = requests // concurrency
        start = time.perf_counter()
        await asyncio.gather(
            *(
                _worker(session, url, body, headers, per_worker, latencies, errors)
                for _ in range(concurrency)
            )
        )
        seconds = time.perf_counter() - start
    return Result(
        target,
        concurrency,
        len(latencies),
        errors[0],
        seconds,
        round(_percentile(latencies, 0.50) * 1000, 3),
        round(_percentile(latencies, 0.99) * 1000, 3),
        round(statistics.fmean(latencies) * 1000, 3),
    )


async def _worker(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    count: int,
    latencies: list[float],
    errors: list[int],
) -> None:
    for _ in range(count):
        start = time.perf_counter()
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            if response.status != 200:
                errors[0] += 1
        latencies.append(time.perf_counter() - start)
