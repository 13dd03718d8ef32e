"""httpx vs aiohttp as the router's upstream client, measured on the bench's mock upstream.

`uv run python -m bench.clients`: the same POST, sequentially and with 64 in flight,
through each library's pooled keep-alive client (the numbers are in
docs/decisions/router-upstream-client.md).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx

from aistrale_testkit.processes import service_process
from aistrale_testkit.tcp_proxy import free_port

BODY = b'{"model": "bench", "messages": [{"role": "user", "content": "hi"}]}'
HEADERS = {"content-type": "application/json"}


async def _timed(call: Callable[[], Awaitable[None]], n: int, concurrency: int) -> float:
    async def worker() -> None:
        for _ in range(n // concurrency):
            await call()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - start)


async def compare(url: str, n: int) -> dict[str, dict[int, float]]:
    results: dict[str, dict[int, float]] = {"httpx": {}, "aiohttp": {}}
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    async with httpx.AsyncClient(limits=limits) as hx:

        async def httpx_call() -> None:
            (await hx.post(url, content=BODY, headers=HEADERS)).read()

        for c in (1, 64):
            await _timed(httpx_call, 200, c)
            results["httpx"][c] = await _timed(httpx_call, n, c)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512)) as ah:

        async def aiohttp_call() -> None:
            async with ah.post(url, data=BODY, headers=HEADERS) as response:
                await response.read()

        for c in (1, 64):
            await _timed(aiohttp_call, 200, c)
            results["aiohttp"][c] = await _timed(aiohttp_call, n, c)
    return results


def main() -> None:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "bench.mock_upstream:app", "--port", str(port)]
    argv += ["--log-level", "warning", "--no-access-log"]
    log = Path(".aistrale") / "bench-clients-upstream.log"
    log.parent.mkdir(exist_ok=True)
    with service_process(argv, port, {}, log_path=log) as base:
        results = asyncio.run(compare(base + "/v1/chat/completions", 3200))
    for library, by_concurrency in results.items():
        for concurrency, rps in by_concurrency.items():
            print(f"{library:<8} concurrency {concurrency:>2}: {rps:8.0f} req/s")


if __name__ == "__main__":
    main()
