"""`make bench`: router overhead over a direct call and over nginx, at concurrency 1 and 64.

Prints a table and writes bench/results/latest.json. Targets (issue 4): added p50 <= 0.5 ms
and p99 <= 2 ms at concurrency 1; at 64, at least a quarter of nginx's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pstats
import time
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


async def measure(stack: Stack, requests_c1: int, requests_c64: int) -> list[Result]:
    plain = {"content-type": "application/json"}
    keyed = {**plain, "authorization": f"Bearer {BENCH_KEY}"}
    targets = [
        ("direct", stack.upstream, plain),
        ("nginx", stack.nginx, plain),
        ("router", stack.router, keyed),
        ("router-bare", stack.router, {**plain, "authorization": f"Bearer {BARE_KEY}"}),
    ]
    results = []
    for concurrency, requests in ((1, requests_c1), (64, requests_c64)):
        for name, base, headers in targets:
            url = base + "/v1/chat/completions"
            pids = stack.pids.get(name) or []
            before = cpu_seconds(pids)
            result = await run_load(
                name, url, BODY, headers, concurrency=concurrency, requests=requests, warmup=200
            )
            used = (cpu_seconds(pids) - before) / (result.requests + 200) * 1e6
            results.append(replace(result, cpu_us_per_request=round(used, 1) if pids else None))
    return results


def summary(results: list[Result]) -> dict[str, float]:
    by = {(r.target, r.concurrency): r for r in results}
    direct1, router1 = by["direct", 1], by["router", 1]
    return {
        "added_p50_ms_c1": round(router1.p50_ms - direct1.p50_ms, 3),
        "added_p99_ms_c1": round(router1.p99_ms - direct1.p99_ms, 3),
        "router_vs_nginx_throughput_c64": round(by["router", 64].rps / by["nginx", 64].rps, 3),
        "nginx_added_p50_ms_c1": round(by["nginx", 1].p50_ms - direct1.p50_ms, 3),
        "bare_added_p50_ms_c1": round(by["router-bare", 1].p50_ms - direct1.p50_ms, 3),
        "bare_vs_nginx_throughput_c64": round(by["router-bare", 64].rps / by["nginx", 64].rps, 3),
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
    parser.add_argument("--requests-c1", type=int, default=2000)
    parser.add_argument("--requests-c64", type=int, default=64 * 100)
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
        results = asyncio.run(measure(stack, args.requests_c1, args.requests_c64))
        time.sleep(0.5)  # the last usage batch
        events = usage_published(stack.router)
    totals = summary(results)
    print_table(results, totals)
    print(f"usage events published or outboxed by the router: {events:.0f}")
    print(f"features: {stack.features}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "features": stack.features,
        "results": [{**asdict(r), "rps": round(r.rps, 1)} for r in results],
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
