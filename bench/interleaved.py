"""The harness of the protocol benches (bench/responses.py, bench/messages.py): each case run
`n` times per round, the cases interleaved round by round so the shared machine's load hits
them alike, and the median per case; then the table they print."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

Case = Callable[[], Any]  # a coroutine function: one request, or one whole stream


def arguments(doc: str) -> tuple[int, int]:
    """(rounds, n) from the command line."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    return args.rounds, args.n


async def per_call_us(case: Case, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await case()
    return (time.perf_counter() - started) / n * 1e6


async def medians(cases: Mapping[str, Case], rounds: int, n: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            samples[name].append(await per_call_us(case, n))
    return {name: statistics.median(values) for name, values in samples.items()}


def report(
    title: str, medians: Mapping[str, float], added: Mapping[str, float], target_us: float
) -> None:
    print(f"{title}, p50 per request (target <= {target_us:.0f} us added)")
    for name, us in medians.items():
        print(f"  {name:<30} {us:>9.1f} us")
    for name, us in added.items():
        verdict = "ok" if us <= target_us else "OVER"
        print(f"  added, {name:<23} {us:>9.1f} us  {verdict}")
