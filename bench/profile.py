"""`python -m bench.profile`: where the time goes in `make run` and `make up` under wrk.

For each topology: wrk at `--concurrency` for `--seconds` while py-spy samples every Python
process of it, then py-spy again while the consumers catch up. Reports the CPU of every
process (services, RabbitMQ, Postgres backends, Redis, the mock, wrk, and the rest of the
machine) per request, and per Python process the functions and packages with the most
samples. Writes bench/results/profile-latest.json; the raw stacks stay in the workdir
(flamegraph.pl or speedscope read them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.cpu import snapshot, used
from bench.measure import warm_up
from bench.pgstats import database_counters, per_request
from bench.pyspy import fold, record
from bench.run import BODY, PLATFORMS, RESULTS, _clean_environment, _mock
from bench.target import Target
from bench.wrk import locate_wrk, run_wrk

PYTHON_COMPONENTS = ("platform", "user-org", "api-router", "analytics", "router")


def _is_python(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return "python" in str(Path(f"/proc/{pid}/exe").readlink())
    return False


Sampling = list[tuple[str, Path, "subprocess.Popen[bytes]"]]


def _sample(target: Target, seconds: float, out: Path, native: bool) -> Sampling:
    """Starts py-spy on each Python process of the target."""
    started: Sampling = []
    for name in PYTHON_COMPONENTS:
        for pid in target.components[name]() if name in target.components else []:
            if _is_python(pid):
                path = out / f"{target.name}-{name}-{pid}-{int(time.time())}.txt"
                started.append((name, path, record(pid, seconds, path, native=native)))
    return started


def _folded(sampling: Sampling) -> dict[str, Any]:
    out = {}
    for name, path, proc in sampling:
        proc.wait(timeout=120)  # py-spy writes its file when its duration is over
        lines = path.read_text().splitlines() if path.exists() else []
        out[f"{name} ({path.name})"] = asdict(fold(lines))
    return out


def profile_target(
    target: Target, args: argparse.Namespace, body: Path, shared: dict[str, Any], out: Path
) -> dict[str, Any]:
    components = {**target.components, **shared}
    files = _sample(target, args.seconds, out, args.native)
    pg_before = database_counters(target.databases) if target.databases else {}
    before = snapshot(components)
    result = run_wrk(target.url, args.concurrency, args.seconds, body, target.authorization)
    ended = time.time()
    loaded = snapshot(components)
    load = _folded(files)
    pg_loaded = database_counters(target.databases) if target.databases else {}
    report: dict[str, Any] = {
        "wrk": asdict(result),
        "rps": round(result.rps, 1),
        "cpu_us_per_request": _per_request({**used(before, loaded), "wrk": result.cpu_s}, result),
        "py_spy_load": load,
    }
    if target.consumers is not None:
        drain_files = _sample(target, args.drain_seconds, out, args.native)
        settled = target.consumers.settle(ended, args.drain_seconds)
        report["drain_s"] = settled.drain_s
        report["cpu_us_per_request_drain"] = _per_request(
            used(loaded, snapshot(components)), result
        )
        report["py_spy_drain"] = _folded(drain_files)
    if target.databases:
        time.sleep(1.0)  # the statistics collector's view lags by up to a second
        pg_after = database_counters(target.databases)
        report["postgres_per_request_load"] = per_request(pg_before, pg_loaded, result.requests)
        report["postgres_per_request_total"] = per_request(pg_before, pg_after, result.requests)
    return report


def _per_request(seconds: dict[str, float], result: Any) -> dict[str, float]:
    return {k: round(v / max(1, result.requests) * 1e6, 1) for k, v in seconds.items()}


def _print(name: str, report: dict[str, Any], top: int) -> None:
    print(f"\n=== {name}: {report['rps']} rps, errors {report['wrk']['non_2xx']}")
    print("CPU per request (µs):", report["cpu_us_per_request"])
    for key in ("postgres_per_request_load", "postgres_per_request_total"):
        if key in report:
            print(f"{key}:", report[key])
    if "cpu_us_per_request_drain" in report:
        print(f"drain {report['drain_s']} s, CPU per request:", report["cpu_us_per_request_drain"])
    for phase in ("py_spy_load", "py_spy_drain"):
        for process, folded in report.get(phase, {}).items():
            total = max(1, folded["samples"])
            print(f"\n-- {phase} {process}: {folded['samples']} samples")
            for name, n in folded["by_area"]:
                print(f"   {'area':<8} {100 * n / total:5.1f}%  {name}")
            for label, key in (("self", "self_by_function"), ("package", "self_by_package")):
                for func, n in folded[key][:top]:
                    print(f"   {label:<8} {100 * n / total:5.1f}%  {func}")
            ours = [(f, n) for f, n in folded["inclusive_by_function"] if "aistrale_" in f]
            for func, n in ours[:top]:
                print(f"   {'incl':<8} {100 * n / total:5.1f}%  {func}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--targets", default="run,up")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--drain-seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--mock", choices=("nginx", "python"), default="nginx")
    parser.add_argument("--tenant", choices=("limits", "bare"), default="limits")
    parser.add_argument("--native", action="store_true", help="py-spy --native: C frames too")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--out", type=Path, default=RESULTS / "profile-latest.json")
    args = parser.parse_args()
    _clean_environment()
    locate_wrk()
    workdir = (
        Path(".aistrale") / "bench" / ("profile-" + time.strftime("%Y%m%dT%H%M%S"))
    ).resolve()
    (workdir / "py-spy").mkdir(parents=True)
    body = workdir / "body.json"
    body.write_bytes(BODY)
    reports = {}
    with _mock(args.mock, workdir) as (upstream, mock_pids):
        for name in args.targets.split(","):
            with PLATFORMS[name](
                workdir / name, upstream, limits=args.tenant == "limits"
            ) as target:
                warm_up(target, body, 60.0)
                reports[name] = profile_target(
                    target, args, body, {"mock": mock_pids}, workdir / "py-spy"
                )
                _print(name, reports[name], args.top)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"settings": vars(args) | {"out": str(args.out)}, **reports}, indent=2, default=str
        )
    )
    print(f"\nwritten: {args.out}; raw stacks in {workdir / 'py-spy'}")


if __name__ == "__main__":
    main()
