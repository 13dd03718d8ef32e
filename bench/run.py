"""`make bench`: router overhead over a direct call and over nginx, at concurrency 1 and 64.

Targets run in interleaved rounds (`--rounds`, default 5) so that the shared machine's
changing load hits every target alike; the table shows medians over rounds, and the added
latency and throughput ratios are computed within each round, then their median taken.
Prints a table and writes bench/results/latest.json. Targets (issue 4): added p50 <= 0.5 ms
and p99 <= 2 ms at concurrency 1; at 64, at least a quarter of nginx's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pstats
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import httpx
import orjson

from bench.cpu import cpu_seconds
from bench.load import Result, run_load
from bench.stack import BARE_KEY, BENCH_KEY, Stack, bench_stack

RESULTS = Path(__file__).parent / "results"
BODY = orjson.dumps(
    {"model": "bench", "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 16}
)


async def measure(
    stack: Stack, requests_c1: int, requests_c64: int, rounds: int
) -> list[list[Result]]:
    """Rounds of every target back to back, so that a change in the machine's load (it is
    shared) hits all targets alike; each round is one list of results."""
    plain = {"content-type": "application/json"}
    keyed = {**plain, "authorization": f"Bearer {BENCH_KEY}"}
    targets = [
        ("direct", stack.upstream, plain),
        ("nginx", stack.nginx, plain),
        ("router", stack.router, keyed),
        ("router-bare", stack.router, {**plain, "authorization": f"Bearer {BARE_KEY}"}),
    ]
    per_round: list[list[Result]] = [[] for _ in range(rounds)]
    for concurrency, requests in ((1, requests_c1), (64, requests_c64)):
        for index in range(rounds):
            for name, base, headers in targets:
                result = await _one(
                    stack,
                    name,
                    base + "/v1/chat/completions",
                    headers,
                    concurrency,
                    max(concurrency, requests // rounds),
                )
                per_round[index].append(result)
    return per_round


async def _one(
    stack: Stack, name: str, url: str, headers: dict[str, str], concurrency: int, requests: int
) -> Result:
    pids = stack.pids.get(name) or []
    before = cpu_seconds(pids)
    result = await run_load(
        name, url, BODY, headers, concurrency=concurrency, requests=requests, warmup=100
    )
    used = (cpu_seconds(pids) - before) / (result.requests + 100) * 1e6
    return replace(result, cpu_us_per_request=round(used, 1) if pids else None)


def combined(per_round: list[list[Result]]) -> list[Result]:
    """One row per target and concurrency: medians over the rounds, requests summed."""
    rows = []
    for position in range(len(per_round[0])):
        runs = [results[position] for results in per_round]
        cpus = [r.cpu_us_per_request for r in runs if r.cpu_us_per_request is not None]
        rows.append(
            replace(
                runs[0],
                requests=sum(r.requests for r in runs),
                errors=sum(r.errors for r in runs),
                seconds=sum(r.seconds for r in runs),
                p50_ms=round(statistics.median(r.p50_ms for r in runs), 3),
                p99_ms=round(statistics.median(r.p99_ms for r in runs), 3),
                mean_ms=round(statistics.median(r.mean_ms for r in runs), 3),
                cpu_us_per_request=round(statistics.median(cpus), 1) if cpus else None,
            )
        )
    return rows


def summary(per_round: list[list[Result]]) -> dict[str, float]:
    """Differences and ratios within each round (same machine load), then their median."""
    rounds = [{(r.target, r.concurrency): r for r in results} for results in per_round]

    def median(value: Callable[[dict[tuple[str, int], Result]], float]) -> float:
        return round(statistics.median(value(by) for by in rounds), 3)

    return {
        "added_p50_ms_c1": median(lambda by: by["router", 1].p50_ms - by["direct", 1].p50_ms),
        "added_p99_ms_c1": median(lambda by: by["router", 1].p99_ms - by["direct", 1].p99_ms),
        "router_vs_nginx_throughput_c64": median(
            lambda by: by["router", 64].rps / by["nginx", 64].rps
        ),
        "nginx_added_p50_ms_c1": median(lambda by: by["nginx", 1].p50_ms - by["direct", 1].p50_ms),
        "bare_added_p50_ms_c1": median(
            lambda by: by["router-bare", 1].p50_ms - by["direct", 1].p50_ms
        ),
        "bare_vs_nginx_throughput_c64": median(
            lambda by: by["router-bare", 64].rps / by["nginx", 64].rps
        ),
        "added_p50_ms_c1_min": round(
            min(by["router", 1].p50_ms - by["direct", 1].p50_ms for by in rounds), 3
        ),
        "added_p50_ms_c1_max": round(
            max(by["router", 1].p50_ms - by["direct", 1].p50_ms for by in rounds), 3
        ),
    }


def print_table(results: list[Result], totals: dict[str, float]) -> None:
    head = ("target", "conc", "reqs", "err", "p50 ms", "p99 ms", "rps", "cpu us/req")
    print("{:<11} {:>4} {:>6} {:>4} {:>8} {:>8} {:>8} {:>10}".format(*head))
    for r in results:
        cpu = f"{r.cpu_us_per_request:.0f}" if r.cpu_us_per_request is not None else "-"
        print(
            f"{r.target:<11} {r.concurrency:>4} {r.requests:>6} {r.errors:>4} "
            f"{r.p50_ms:>8.3f} {r.p99_ms:>8.3f} {r.rps:>8.0f} {cpu:>10}"
        )
    for name, value in totals.items():
        print(f"{name}: {value}")


def usage_published(router: str) -> float:
    text = httpx.get(router + "/metrics", timeout=5).text
    lines = [ln for ln in text.splitlines() if ln.startswith("aistrale_api_router_usage_events")]
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in lines if "_total" in ln.split("{")[0])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--requests-c1", type=int, default=3000)
    parser.add_argument("--requests-c64", type=int, default=64 * 100)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per target")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--profile", action="store_true", help="cProfile the router")
    parser.add_argument(
        "--embedded", action="store_true", help="in-process bus and limits (as `make run`)"
    )
    args = parser.parse_args()
    workdir = (Path(".aistrale") / "bench" / time.strftime("%Y%m%dT%H%M%S")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    profile = workdir / "router.prof" if args.profile else None
    with bench_stack(workdir, profile=profile, embedded=args.embedded) as stack:
        per_round = asyncio.run(
            measure(stack, args.requests_c1, args.requests_c64, max(1, args.rounds))
        )
        time.sleep(0.5)  # the last usage batch
        events = usage_published(stack.router)
    results = combined(per_round)
    totals = summary(per_round)
    print_table(results, totals)
    print(f"usage events published or outboxed by the router: {events:.0f}")
    print(f"features: {stack.features}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "features": stack.features,
        "rounds": len(per_round),
        "results": [{**asdict(r), "rps": round(r.rps, 1)} for r in results],
        "per_round": [[{**asdict(r), "rps": round(r.rps, 1)} for r in rs] for rs in per_round],
        "summary": totals,
        "usage_events": events,
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(f"written: {args.out}")
    if profile is not None:
        stats = pstats.Stats(str(profile))
        stats.sort_stats("tottime").print_stats(25)
        print(f"profile: {profile} (python -m pstats)")


if __name__ == "__main__":
    main()
