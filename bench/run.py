"""`make bench`: what users run (`make run`, `make up`) against a direct call to the mock
upstream and nginx in front of it, with wrk, at concurrency 1 and 64; the router alone
(fake user-org, no consumers) as a diagnostic row.

Targets run in interleaved rounds (`--rounds`, default 5) so that the shared machine's
changing load hits every target alike; added latency and throughput ratios are computed
within each round, then their median taken. After each run against a platform the bench
waits for its consumers to catch up (and records how long that took) before the next
target. Prints a table and the pass/fail of issue 13's targets; writes
bench/results/latest.json. Method: docs/router.md "Performance".
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import orjson

from aistrale_testkit.processes import service_process
from aistrale_testkit.tcp_proxy import free_port
from bench.cpu import Finder, matching, with_children
from bench.measure import Measurement, measure, warm_up
from bench.nginx import run_mock, run_nginx
from bench.platform_run import platform_run
from bench.platform_up import platform_up
from bench.report import checks, consumers, print_report, rows, summary, write_json
from bench.router_alone import router_alone, router_cached
from bench.target import COMPLETIONS, Target
from bench.wrk import locate_wrk

RESULTS = Path(__file__).parent / "results"
BODY = orjson.dumps(
    {"model": "bench", "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 16}
)
PLATFORMS: dict[str, Platform] = {
    "run": platform_run,
    "up": platform_up,
    "router": router_alone,
    "cached": router_cached,
}
ALL = ("direct", "nginx", *PLATFORMS)


class Platform(Protocol):
    def __call__(
        self, workdir: Path, upstream: str, *, limits: bool = True
    ) -> AbstractContextManager[Target]: ...


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per target")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per wrk run")
    parser.add_argument(
        "--targets", default=",".join(ALL), help=f"comma-separated, of {','.join(ALL)}"
    )
    parser.add_argument(
        "--mock",
        choices=("nginx", "python"),
        default="nginx",
        help="the mock upstream: nginx (not the bottleneck) or bench/mock_upstream.py",
    )
    parser.add_argument(
        "--tenant",
        choices=("limits", "bare"),
        default="limits",
        help="limits: org and key RPM/TPM limits and budgets (never binding); bare: none",
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=30.0, help="longest wait for the consumers"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args()
    args.targets = [t for t in args.targets.split(",") if t]
    unknown = set(args.targets) - set(ALL)
    if unknown or not {"direct", "nginx"} <= set(args.targets):
        parser.error(f"targets: direct and nginx always, others of {ALL}; unknown {unknown}")
    return args


@contextlib.contextmanager
def _mock(kind: str, workdir: Path) -> Iterator[tuple[str, Finder]]:
    port = free_port()
    if kind == "nginx":
        with run_mock(workdir, port) as url:
            yield url, with_children("nginx: master", str(workdir / "mock"))
        return
    argv = [sys.executable, "-m", "uvicorn", "bench.mock_upstream:app", "--port", str(port)]
    argv += ["--log-level", "warning", "--no-access-log"]
    with service_process(argv, port, {}, log_path=workdir / "mock.log") as url:
        yield url, matching("bench.mock_upstream:app", f"--port {port}")


def _clean_environment() -> None:
    """Each topology sets what it needs; a developer's own AISTRALE_* must not leak in."""
    for name in [n for n in os.environ if n.startswith("AISTRALE_")]:
        print(f"bench: ignoring {name} from the environment", file=sys.stderr)
        del os.environ[name]


def _rounds(
    targets: list[Target], args: argparse.Namespace, body: Path, shared: dict[str, Finder]
) -> list[Measurement]:
    done: list[Measurement] = []
    for concurrency in (1, 64):
        for index in range(max(1, args.rounds)):
            for target in targets:
                m = measure(
                    target,
                    concurrency,
                    index,
                    duration_s=args.duration,
                    body=body,
                    shared=shared,
                    drain_timeout_s=args.drain_timeout,
                )
                done.append(m)
                errors = f" errors {m.wrk.errors}" if m.wrk.errors else ""
                print(
                    f"  round {index} c={concurrency:<2} {target.name:<6} "
                    f"p50 {m.wrk.p50_ms:.3f} p99 {m.wrk.p99_ms:.3f} rps {m.wrk.rps:.0f}"
                    f"{errors}"
                    + (f" caught up {m.consumers['caught_up_s']}" if m.consumers else ""),
                    flush=True,
                )
    return done


def main() -> None:
    args = _arguments()
    _clean_environment()
    locate_wrk()
    workdir = (Path(".aistrale") / "bench" / time.strftime("%Y%m%dT%H%M%S")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    body = workdir / "body.json"
    body.write_bytes(BODY)
    with contextlib.ExitStack() as stack:
        upstream, mock_pids = stack.enter_context(_mock(args.mock, workdir))
        nginx = stack.enter_context(
            run_nginx(workdir, free_port(), int(upstream.rsplit(":", 1)[1]))
        )
        targets = [
            Target("direct", upstream + COMPLETIONS, None, {}),
            Target(
                "nginx",
                nginx + COMPLETIONS,
                None,
                {"nginx": with_children("nginx: master", str(workdir / "nginx"))},
            ),
        ]
        for name in [t for t in args.targets if t in PLATFORMS]:
            print(f"bench: starting {name}", flush=True)
            platform = PLATFORMS[name](workdir / name, upstream, limits=args.tenant == "limits")
            targets.append(stack.enter_context(platform))
        for target in targets:
            warm_up(target, body, args.drain_timeout)
        measurements = _rounds(targets, args, body, {"mock": mock_pids})
    settings = {
        "rounds": args.rounds,
        "duration_s": args.duration,
        "mock": args.mock,
        "tenant": args.tenant,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "workdir": str(workdir),
    }
    features = {t.name: t.features for t in targets if t.features}
    totals = summary(measurements)
    print_report(rows(measurements), totals, checks(measurements, totals), consumers(measurements))
    write_json(args.out, measurements, settings, features)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
