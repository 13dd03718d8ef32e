"""From measurements to the table, the within-round summary, the pass/fail of each target,
and bench/results/latest.json.

Added latency and throughput ratios are computed within each round (the machine is shared:
a change of load hits every target of a round alike), then their median is taken.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.measure import Measurement

KEEP_UP_S = 10.0  # consumers must have caught up this long after the load at the latest
PLATFORM = ("run", "up", "router", "cached")  # the targets compared with direct and nginx
CACHE_HIT_ADDED_P50_MS = 0.3  # issue 18: a cache hit adds at most this over a direct call


@dataclass(frozen=True)
class Row:
    """One target at one concurrency: medians over the rounds, counts summed."""

    target: str
    concurrency: int
    rounds: int
    requests: int
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    rps: float
    cpu_us: dict[str, float]
    drain_s_max: float | None


@dataclass(frozen=True)
class Check:
    name: str
    value: float | None
    limit: float
    at_most: bool  # True: value <= limit passes; False: value >= limit passes
    errors: int  # errors in the measurements the value comes from: any fails the check

    @property
    def passed(self) -> bool:
        if self.value is None or self.errors:
            return False
        return self.value <= self.limit if self.at_most else self.value >= self.limit


def _median(values: Iterable[float]) -> float:
    return round(statistics.median(values), 3)


def rows(measurements: Sequence[Measurement]) -> list[Row]:
    keys = list(dict.fromkeys((m.target, m.concurrency) for m in measurements))
    return [_row([m for m in measurements if (m.target, m.concurrency) == key]) for key in keys]


def _row(runs: list[Measurement]) -> Row:
    names = dict.fromkeys(name for m in runs for name in m.cpu_us)
    drains = [m.drain_s for m in runs if m.consumers is not None]
    return Row(
        target=runs[0].target,
        concurrency=runs[0].concurrency,
        rounds=len(runs),
        requests=sum(m.wrk.requests for m in runs),
        non_2xx=sum(m.wrk.non_2xx for m in runs),
        socket_errors=sum(m.wrk.socket_errors for m in runs),
        p50_ms=_median(m.wrk.p50_ms for m in runs),
        p99_ms=_median(m.wrk.p99_ms for m in runs),
        rps=round(statistics.median(m.wrk.rps for m in runs), 1),
        cpu_us={n: round(statistics.median(m.cpu_us.get(n, 0.0) for m in runs), 1) for n in names},
        drain_s_max=_worst_drain(drains) if drains else None,
    )


def _worst_drain(drains: list[float | None]) -> float | None:
    return None if any(d is None for d in drains) else max(d for d in drains if d is not None)


Round = dict[tuple[str, int], Measurement]


def _rounds(measurements: Sequence[Measurement]) -> list[Round]:
    indexes = sorted({m.round for m in measurements})
    return [{(m.target, m.concurrency): m for m in measurements if m.round == i} for i in indexes]


def summary(measurements: Sequence[Measurement]) -> dict[str, float]:
    """Per platform target present: added p50/p99 at c=1 over direct, c=64 rps over nginx."""
    rounds = _rounds(measurements)

    def median(value: Callable[[Round], float], needs: tuple[tuple[str, int], ...]) -> float | None:
        usable = [value(r) for r in rounds if all(k in r for k in needs)]
        return _median(usable) if usable else None

    out: dict[str, float | None] = {
        "nginx_added_p50_ms_c1": median(
            lambda r: r["nginx", 1].wrk.p50_ms - r["direct", 1].wrk.p50_ms,
            (("nginx", 1), ("direct", 1)),
        ),
        "direct_vs_nginx_rps_c64": median(
            lambda r: r["direct", 64].wrk.rps / r["nginx", 64].wrk.rps,
            (("direct", 64), ("nginx", 64)),
        ),
    }
    for name in PLATFORM:
        for stat in ("p50", "p99"):
            needs = ((name, 1), ("direct", 1))
            out[f"{name}_added_{stat}_ms_c1"] = median(_added(name, stat), needs)
        out[f"{name}_vs_nginx_rps_c64"] = median(_ratio(name), ((name, 64), ("nginx", 64)))
    return {k: v for k, v in out.items() if v is not None}


def _ms(m: Measurement, stat: str) -> float:
    return m.wrk.p50_ms if stat == "p50" else m.wrk.p99_ms


def _added(name: str, stat: str) -> Callable[[Round], float]:
    return lambda r: _ms(r[name, 1], stat) - _ms(r["direct", 1], stat)


def _ratio(name: str) -> Callable[[Round], float]:
    return lambda r: r[name, 64].wrk.rps / r["nginx", 64].wrk.rps


def _errors(measurements: Sequence[Measurement], target: str, *concurrency: int) -> int:
    return sum(
        m.wrk.errors for m in measurements if m.target == target and m.concurrency in concurrency
    )


def checks(measurements: Sequence[Measurement], totals: dict[str, float]) -> list[Check]:
    """Issue 13's targets for this 2-core machine."""
    present = {m.target for m in measurements}
    out = []
    if "run" in present:
        c1, c64 = _errors(measurements, "run", 1), _errors(measurements, "run", 64)
        out += [
            Check(
                "make run: added p50 at c=1 (ms)", totals.get("run_added_p50_ms_c1"), 0.5, True, c1
            ),
            Check(
                "make run: added p99 at c=1 (ms)", totals.get("run_added_p99_ms_c1"), 2.0, True, c1
            ),
            Check(
                "make run: c=64 rps / nginx", totals.get("run_vs_nginx_rps_c64"), 0.25, False, c64
            ),
        ]
    if "up" in present:
        errors = _errors(measurements, "up", 1, 64)
        out += [
            Check(
                "make up: c=64 rps / nginx", totals.get("up_vs_nginx_rps_c64"), 0.12, False, errors
            ),
            Check("make up: errors (c=1 and c=64)", float(errors), 0, True, 0),
        ]
    if "cached" in present:
        out.append(
            Check(
                "answer cache hit: added p50 at c=1 (ms)",
                totals.get("cached_added_p50_ms_c1"),
                CACHE_HIT_ADDED_P50_MS,
                True,
                _errors(measurements, "cached", 1),
            )
        )
    for name in ("run", "up"):
        if name in present:
            out.append(_keep_up(measurements, name))
    return out


def _keep_up(measurements: Sequence[Measurement], target: str) -> Check:
    drains = [m.drain_s for m in measurements if m.target == target and m.consumers is not None]
    worst = _worst_drain(drains) if drains else None
    return Check(f"make {target}: consumers caught up within (s)", worst, KEEP_UP_S, True, 0)


def consumers(measurements: Sequence[Measurement]) -> dict[str, dict[str, float | None]]:
    """Per target with consumers, per consumer: the slowest catch-up over all its runs
    (None: at least once not within the wait)."""
    runs: dict[str, dict[str, list[float | None]]] = {}
    for m in measurements:
        for name, seconds in (m.consumers or {}).get("caught_up_s", {}).items():
            runs.setdefault(m.target, {}).setdefault(name, []).append(seconds)
    return {
        target: {name: _worst_drain(times) for name, times in by_name.items()}
        for target, by_name in runs.items()
    }


def print_report(
    table: list[Row],
    totals: dict[str, float],
    verdicts: list[Check],
    caught_up: dict[str, dict[str, float | None]] | None = None,
) -> None:
    head = ("target", "conc", "reqs", "non2xx", "sockerr", "p50 ms", "p99 ms", "rps", "drain s")
    print("{:<7} {:>4} {:>7} {:>6} {:>7} {:>8} {:>8} {:>8} {:>7}".format(*head))
    for r in table:
        drain = "-" if r.drain_s_max is None and r.target not in ("run", "up") else r.drain_s_max
        print(
            f"{r.target:<7} {r.concurrency:>4} {r.requests:>7} {r.non_2xx:>6} "
            f"{r.socket_errors:>7} {r.p50_ms:>8.3f} {r.p99_ms:>8.3f} {r.rps:>8.0f} {drain!s:>7}"
        )
    print("\nCPU per request (µs, median over rounds; machine = every process on the host):")
    for r in table:
        parts = "  ".join(f"{n} {v:.0f}" for n, v in r.cpu_us.items())
        print(f"  {r.target:<7} c={r.concurrency:<3} {parts}")
    for target, worst in (caught_up or {}).items():
        parts = ", ".join(f"{name} {seconds}" for name, seconds in worst.items())
        print(
            f"  {target}: consumers caught up after (s, worst run; None: not in the wait): {parts}"
        )
    print()
    for name, value in totals.items():
        print(f"{name}: {value}")
    print()
    for check in verdicts:
        verdict = "PASS" if check.passed else "FAIL"
        op = "<=" if check.at_most else ">="
        errors = f" ({check.errors} errors)" if check.errors else ""
        print(f"{verdict}  {check.name}: {check.value} (target {op} {check.limit}){errors}")


def write_json(
    path: Path,
    measurements: Sequence[Measurement],
    settings: dict[str, Any],
    features: dict[str, dict[str, str]],
) -> dict[str, Any]:
    totals = summary(measurements)
    report = {
        "settings": settings,
        "features": features,
        "results": [asdict(r) for r in rows(measurements)],
        "summary": totals,
        "consumers_caught_up_s": consumers(measurements),
        "checks": [{**asdict(c), "passed": c.passed} for c in checks(measurements, totals)],
        "per_round": [
            {**asdict(m), "rps": round(m.wrk.rps, 1)}
            for m in sorted(measurements, key=lambda m: (m.round, m.concurrency))
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    return report
