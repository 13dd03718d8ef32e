"""`make bench`'s arithmetic on recorded output: wrk's JSON line, the within-round summary,
the pass/fail of each target, latest.json and the py-spy fold; and the decisions the routing
bench times. No timing is asserted here: speed claims live only in the bench's own output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench.measure import Measurement
from bench.pyspy import fold
from bench.report import checks, consumers, rows, summary, write_json
from bench.routing import AFFINITIES, BASELINE_REV, STRATEGIES, _decision, _old_decision
from bench.wrk import WrkResult, parse_output

# Recorded from wrk 4.1.0 with bench/wrk/post.lua against an nginx answering half 503.
RECORDED = """\
Running 1s test @ http://127.0.0.1:39999/x
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    52.34us  265.60us   7.54ms   99.54%
    Req/Sec    45.38k     1.19k   46.78k    80.00%
  45229 requests in 1.00s, 7.29MB read
  Non-2xx or 3xx responses: 22620
Requests/sec:  45158.64
Transfer/sec:      7.28MB
WRK_JSON {"requests":45229,"duration_us":1001558,"bytes":7643701,"errors":{"connect":0,\
"read":0,"write":0,"status":22620,"timeout":0},"latency_us":{"min":22,"mean":52.3,"max":7538,\
"stdev":265.6,"p50":32,"p90":52,"p99":117,"p999":5558}}
"""


def test_wrk_figures_come_from_its_json_line() -> None:
    result = parse_output(RECORDED, cpu_s=0.25)
    assert result.requests == 45229
    assert result.seconds == pytest.approx(1.001558)
    assert result.rps == pytest.approx(45229 / 1.001558)
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (0.032, 0.052, 0.117)
    assert result.non_2xx == 22620
    assert result.socket_errors == 0
    assert result.errors == 22620
    assert result.cpu_s == 0.25


def test_wrk_socket_errors_are_counted() -> None:
    broken = RECORDED.replace('"read":0', '"read":3').replace('"timeout":0', '"timeout":2')
    result = parse_output(broken)
    assert result.socket_errors == 5
    assert result.errors == 22620 + 5


def test_output_without_the_json_line_is_refused() -> None:
    with pytest.raises(ValueError, match="WRK_JSON"):
        parse_output(RECORDED.split("WRK_JSON")[0])


def _wrk(rps: float, p50: float, p99: float, errors: int = 0) -> WrkResult:
    return WrkResult(
        requests=round(rps * 4),
        seconds=4.0,
        non_2xx=errors,
        socket_errors=0,
        p50_ms=p50,
        p90_ms=p50,
        p99_ms=p99,
        mean_ms=p50,
        max_ms=p99,
    )


def _round(index: int, slow: float, up_errors: int = 0) -> list[Measurement]:
    """One round; `slow` scales every latency and divides every rate alike, as a busier
    machine would: ratios within the round do not move."""
    consumers = {"caught_up": True, "caught_up_s": {"analytics": 1.0 * slow}}
    spec = {
        ("direct", 1): (4000, 0.10, 0.30),
        ("nginx", 1): (3000, 0.15, 0.40),
        ("run", 1): (900, 0.50, 1.90),
        ("up", 1): (600, 1.10, 3.00),
        ("direct", 64): (40000, 1.0, 3.0),
        ("nginx", 64): (20000, 2.0, 5.0),
        ("run", 64): (4000, 10.0, 20.0),
        ("up", 64): (3000, 30.0, 60.0),
    }
    out = []
    for (target, concurrency), (rps, p50, p99) in spec.items():
        errors = up_errors if target == "up" and concurrency == 64 else 0
        platform = target in ("run", "up")
        out.append(
            Measurement(
                target,
                concurrency,
                index,
                _wrk(rps / slow, p50 * slow, p99 * slow, errors),
                cpu_us={"machine": 100.0 * slow},
                drain_s=1.5 * slow if platform else None,
                consumers=consumers if platform else None,
            )
        )
    return out


def test_summary_is_the_median_of_within_round_figures() -> None:
    measurements = _round(0, 1.0) + _round(1, 2.0) + _round(2, 1.0)
    totals = summary(measurements)
    # Added latency scales with the round's load; the median round is a quiet one.
    assert totals["run_added_p50_ms_c1"] == pytest.approx(0.4)
    assert totals["run_added_p99_ms_c1"] == pytest.approx(1.6)
    assert totals["up_added_p50_ms_c1"] == pytest.approx(1.0)
    # Ratios hold in every round.
    assert totals["run_vs_nginx_rps_c64"] == pytest.approx(0.2)
    assert totals["up_vs_nginx_rps_c64"] == pytest.approx(0.15)
    assert totals["direct_vs_nginx_rps_c64"] == pytest.approx(2.0)
    assert "router_vs_nginx_rps_c64" not in totals  # no router-alone row in these rounds

    verdicts = {c.name: c.passed for c in checks(measurements, totals)}
    assert verdicts == {
        "make run: added p50 at c=1 (ms)": True,
        "make run: added p99 at c=1 (ms)": True,
        "make run: c=64 rps / nginx": False,  # 0.2 < 0.25
        "make up: c=64 rps / nginx": True,
        "make up: errors (c=1 and c=64)": True,
        "make run: consumers caught up within (s)": True,
        "make up: consumers caught up within (s)": True,
    }

    table = {(r.target, r.concurrency): r for r in rows(measurements)}
    assert table["run", 64].requests == 4000 * 4 * 2 + 2000 * 4
    assert table["run", 64].drain_s_max == 3.0
    assert table["nginx", 1].drain_s_max is None


def test_added_latency_is_taken_within_rounds_not_from_medians() -> None:
    """Round 2 was slow for the direct call only: the difference of the medians would say
    0.4 ms, the rounds themselves say 0.3 ms."""
    direct, run = (0.1, 0.2, 0.9), (0.6, 0.5, 1.2)
    measurements = [
        Measurement(target, 1, index, _wrk(1000, p50, p50))
        for index in range(3)
        for target, p50 in (("direct", direct[index]), ("run", run[index]))
    ]
    assert summary(measurements)["run_added_p50_ms_c1"] == pytest.approx(0.3)


def test_any_error_fails_the_targets_it_touches() -> None:
    measurements = _round(0, 1.0, up_errors=1) + _round(1, 1.0)
    totals = summary(measurements)
    failed = {c.name for c in checks(measurements, totals) if not c.passed}
    # The ratio itself (0.15) would pass: the error fails it.
    assert totals["up_vs_nginx_rps_c64"] == pytest.approx(0.15)
    assert failed == {
        "make run: c=64 rps / nginx",
        "make up: c=64 rps / nginx",
        "make up: errors (c=1 and c=64)",
    }


def test_consumers_that_never_caught_up_fail() -> None:
    measurements = _round(0, 1.0)
    stuck = next(m for m in measurements if (m.target, m.concurrency) == ("run", 64))
    measurements[measurements.index(stuck)] = Measurement(
        "run", 64, 0, stuck.wrk, drain_s=None, consumers={"caught_up_s": {"analytics": None}}
    )
    by_name = {c.name: c for c in checks(measurements, summary(measurements))}
    assert not by_name["make run: consumers caught up within (s)"].passed
    assert by_name["make up: consumers caught up within (s)"].passed
    assert consumers(measurements) == {"run": {"analytics": None}, "up": {"analytics": 1.0}}


def test_latest_json_holds_rows_summary_checks_and_rounds(tmp_path: Path) -> None:
    measurements = _round(0, 1.0) + _round(1, 1.0)
    out = tmp_path / "results" / "latest.json"
    write_json(out, measurements, {"rounds": 2}, {"run": {"databases": "SQLite"}})
    report = json.loads(out.read_text())
    assert report["settings"] == {"rounds": 2}
    assert report["features"]["run"]["databases"] == "SQLite"
    assert len(report["results"]) == 8
    assert len(report["per_round"]) == 16
    first = report["per_round"][0]
    assert (first["target"], first["concurrency"], first["rps"]) == ("direct", 1, 4000.0)
    assert report["summary"]["run_vs_nginx_rps_c64"] == pytest.approx(0.2)
    passed = {c["name"]: c["passed"] for c in report["checks"]}
    assert passed["make run: c=64 rps / nginx"] is False
    assert passed["make up: c=64 rps / nginx"] is True
    assert report["consumers_caught_up_s"]["up"] == {"analytics": 1.0}


def test_py_spy_stacks_fold_into_self_inclusive_and_package_time() -> None:
    raw = [
        "run (uvicorn/main.py:580);Gateway.handle (aistrale_router/gateway/service.py:123);"
        "Connection.send (aistrale_router/upstream/lean/connection.py:90) 6",
        "run (uvicorn/main.py:580);Gateway.handle (aistrale_router/gateway/service.py:130);"
        "StreamWriter.write (asyncio/streams.py:325) 3",
        "run (uvicorn/main.py:580);uuid4 (uuid.py:723) 1",
        "on_usage (aistrale_userorg/keys/last_used.py:30);"
        "Connection.execute (asyncpg/connection.py:350) 4",
        "",
    ]
    profile = fold(raw)
    assert profile.samples == 14
    assert profile.self_by_function[0] == (
        "Connection.send (aistrale_router/upstream/lean/connection.py)",
        6,
    )
    inclusive = dict(profile.inclusive_by_function)
    assert inclusive["Gateway.handle (aistrale_router/gateway/service.py)"] == 9
    assert inclusive["run (uvicorn/main.py)"] == 10
    assert dict(profile.self_by_package) == {
        "aistrale_router": 6,
        "asyncpg": 4,
        "asyncio": 3,
        "uuid": 1,
    }
    # The consumer owns its SQL; request-path stacks go to their most specific part.
    assert dict(profile.by_area) == {
        "upstream exchange (lean client)": 6,
        "user-org last-used consumer (incl. SQL)": 4,
        "gateway (request, service, api)": 3,
        "event loop / other": 1,
    }


def test_every_routing_configuration_times_a_real_decision() -> None:
    """bench/routing.py: each configuration plans all 4 deployments, with its affinity."""
    for strategy in STRATEGIES:
        for affinity in AFFINITIES:
            decide = _decision(strategy, affinity)
            plans = [decide() for _ in range(20)]
            assert all(isinstance(p, list) and len(p) == 4 for p in plans)
            firsts = {p[0].deployment.id for p in plans if isinstance(p, list)}
            if affinity != "none":
                assert len(firsts) == 1, (strategy, affinity, firsts)


def test_the_routing_baseline_is_the_picker_from_before_when_git_has_it() -> None:
    """A clone without that commit (shallow) runs the bench without the old row."""
    known = subprocess.run(
        ["git", "cat-file", "-e", f"{BASELINE_REV}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    decide = _old_decision(BASELINE_REV)
    if known.returncode != 0:
        assert decide is None
        return
    assert decide is not None
    plan = decide()
    assert isinstance(plan, list) and len(plan) == 4
    assert _old_decision("0" * 40) is None  # a revision git does not have: no baseline row
