"""`make bench` (first, a few seconds): the cost of one routing decision.

A model with 4 vLLM deployments, load reports and latency averages filled in; for each
strategy and affinity, one decision is what the gateway does per request: the affinity key
(hashing the key id, or the prompt's head for `prefix`) and `DeploymentPicker.plan`, with
the decision counted in a real Prometheus counter. Configurations run in interleaved
rounds so the shared machine's changing load hits them alike; per-decision medians are
compared with the baseline measured in the same run: today's `weighted`/`none` path, and,
when git has it, the picker as it was before strategies and affinity (BASELINE_REV).
Target: <= 20 us a decision. Prints a table; writes bench/results/routing.json.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from aistrale_common.metrics import ServiceMetrics
from aistrale_router.catalog.schema import Catalog, ModelEntry
from aistrale_router.routing.affinity.material import affinity_key
from aistrale_router.routing.decisions import RoutingDecisions
from aistrale_router.routing.picker import DeploymentPicker
from aistrale_router.routing.state import DeploymentStates

TARGET_US = 20.0
BASELINE_REV = "d67de5c"  # main before issue 18's routing
PICKER = "services/api-router/src/aistrale_router/routing/picker.py"
RESULTS = Path(__file__).parent / "results" / "routing.json"
STRATEGIES = ("weighted", "least_load", "latency", "cost")
AFFINITIES = ("none", "key", "prefix")
BODY: dict[str, Any] = {
    "model": "m",
    "messages": [
        {"role": "system", "content": "You are a careful assistant. " * 150},  # ~4 KB
        {"role": "user", "content": "Summarise the attached report."},
    ],
}
Decide = Callable[[], object]


def _catalog(strategy: str, affinity: str) -> tuple[Catalog, ModelEntry]:
    deployments = [
        {
            "provider": "vllm",
            "base_url": f"http://10.0.0.{i}:8000/v1",
            "model": "m",
            "name": f"vllm-{i}",
            "pricing": {"input_micro_usd_per_mtok": i, "output_micro_usd_per_mtok": i},
        }
        for i in range(4)
    ]
    routing = {"strategy": strategy, "affinity": affinity}
    catalog = Catalog.model_validate(
        {"models": [{"name": "m", "deployments": deployments, "routing": routing}]}
    )
    model = catalog.get("m")
    assert model is not None
    return catalog, model


def _states() -> DeploymentStates:
    states = DeploymentStates(failures=5, open_s=10.0)
    for i in range(4):
        states.report_load(f"vllm-{i}", i, 3 - i, 0.1 * i, saturated=False, fresh_for_s=1e9)
        for _ in range(i):
            states.started(f"vllm-{i}")
    return states


def _decision(strategy: str, affinity: str) -> Decide:
    catalog, model = _catalog(strategy, affinity)
    metrics = RoutingDecisions(ServiceMetrics("bench-routing"))
    picker = DeploymentPicker(_states(), random.Random(1), decisions=metrics)
    for i in range(4):
        picker.latency.observe(f"vllm-{i}", total_s=0.2 + i / 10, ttft_s=0.05, tokens=32)
    body = orjson.loads(orjson.dumps(BODY))
    policy = model.routing

    def decide() -> object:
        key = None if policy.affinity == "none" else affinity_key(policy, "key_bench", body)
        return picker.plan(catalog, model, "chat", affinity=key)

    return decide


def _old_decision(rev: str) -> Decide | None:
    """The picker at `rev`, loaded from git (its interface: plan(catalog, model, endpoint))."""
    argv = [shutil.which("git") or "git", "show", f"{rev}:{PICKER}"]  # our own repository
    try:
        source = subprocess.run(argv, capture_output=True, text=True, check=True).stdout  # noqa: S603
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("bench_old_picker")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:{PICKER}", "exec"), module.__dict__)  # noqa: S102
    catalog, model = _catalog("weighted", "none")
    picker = module.DeploymentPicker(_states(), random.Random(1))

    def decide() -> object:
        return picker.plan(catalog, model, "chat")

    return decide


def _per_decision_us(decide: Decide, n: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        decide()
    return (time.perf_counter_ns() - start) / n / 1000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.routing")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--decisions", type=int, default=5000, help="per round and config")
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    args = parser.parse_args()
    configs: dict[str, Decide] = {}
    old = _old_decision(args.baseline_rev)
    if old is not None:
        configs[f"before ({args.baseline_rev})"] = old
    for strategy in STRATEGIES:
        for affinity in AFFINITIES:
            configs[f"{strategy}/{affinity}"] = _decision(strategy, affinity)
    for decide in configs.values():
        _per_decision_us(decide, 500)  # warm up
    samples: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(args.rounds):
        for name, decide in configs.items():
            samples[name].append(_per_decision_us(decide, args.decisions))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    best = {name: min(values) for name, values in samples.items()}
    _report(medians, best)
    if any(us > TARGET_US for us in best.values()):
        sys.exit(1)


def _report(medians: dict[str, float], best: dict[str, float]) -> None:
    """The target is judged on each configuration's best round: the one the shared
    machine's other load disturbed least; ratios compare medians of the same rounds."""
    base = medians["weighted/none"]
    print(f"routing decision, 4 deployments (target <= {TARGET_US:.0f} us, best round)")
    print(f"{'config':<20} {'median us':>10} {'best us':>8} {'x weighted/none':>16}  target")
    for name, us in medians.items():
        verdict = "ok" if best[name] <= TARGET_US else "FAIL"
        print(f"{name:<20} {us:>10.2f} {best[name]:>8.2f} {us / base:>16.2f}  {verdict}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    result = {"median_us": medians, "best_us": best, "target_us": TARGET_US}
    RESULTS.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
