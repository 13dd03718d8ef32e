"""Each routing strategy and affinity in the picker, with a fake clock and no I/O."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from aistrale_router.catalog.schema import Catalog, ModelEntry
from aistrale_router.routing.affinity.material import affinity_key, prefix_text
from aistrale_router.routing.latency import LatencyStats
from aistrale_router.routing.picker import DeploymentPicker
from aistrale_router.routing.state import DeploymentStates

NAMES = ("a", "b", "c", "d")


class Decisions:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str, str]] = []

    def __call__(self, model: str, strategy: str, deployment: str, reason: str) -> None:
        self.seen.append((model, strategy, deployment, reason))


def catalog(routing: dict[str, Any], **per_deployment: dict[str, Any]) -> Catalog:
    deployments = [
        {
            "provider": "vllm",
            "base_url": f"http://{name}/v1",
            "model": "m",
            "name": name,
            **per_deployment.get(name, {}),
        }
        for name in NAMES
    ]
    entry = {"name": "m", "deployments": deployments, "routing": routing}
    return Catalog.model_validate({"models": [entry]})


def setup(
    routing: dict[str, Any], **per_deployment: dict[str, Any]
) -> tuple[Catalog, ModelEntry, DeploymentPicker, Decisions]:
    cat = catalog(routing, **per_deployment)
    decisions = Decisions()
    picker = DeploymentPicker(
        DeploymentStates(failures=2, open_s=30.0), random.Random(7), decisions=decisions
    )
    model = cat.get("m")
    assert model is not None
    return cat, model, picker, decisions


def firsts(picker: DeploymentPicker, cat: Catalog, model: ModelEntry, n: int = 200) -> Counter[str]:
    return Counter(picker.plan(cat, model, "chat")[0].deployment.id for _ in range(n))


def test_least_load_follows_the_reported_queue_then_the_kv_cache() -> None:
    cat, model, picker, decisions = setup({"strategy": "least_load"})
    for name, waiting, kv in (("a", 3, 0.1), ("b", 0, 0.7), ("c", 0, 0.2), ("d", 5, 0.0)):
        picker.states.report_load(name, 1, waiting, kv, saturated=False, fresh_for_s=60)
    assert [t.deployment.id for t in picker.plan(cat, model, "chat")] == ["c", "b", "a", "d"]
    assert decisions.seen[-1] == ("m", "least_load", "c", "strategy")


def test_least_load_without_reports_goes_by_in_flight_counts() -> None:
    cat, model, picker, _ = setup({"strategy": "least_load"})
    for name, inflight in (("a", 2), ("b", 1), ("c", 3), ("d", 1)):
        for _ in range(inflight):
            picker.states.started(name)
    assert {t.deployment.id for t in picker.plan(cat, model, "chat")[:2]} == {"b", "d"}
    assert set(firsts(picker, cat, model)) == {"b", "d"}  # a tie still shares the work


def test_latency_prefers_the_faster_deployment_and_still_explores() -> None:
    cat, model, picker, _ = setup({"strategy": "latency"})
    for name, seconds in (("a", 0.5), ("b", 0.1), ("c", 0.9), ("d", 0.3)):
        picker.latency.observe(name, total_s=seconds, ttft_s=None, tokens=10)
    counts = firsts(picker, cat, model, 400)
    assert counts.most_common(1)[0][0] == "b"
    assert counts["b"] > 0.9 * 400 and len(counts) > 1, counts  # EXPLORE measures the others


def test_latency_ranks_an_unmeasured_deployment_first() -> None:
    cat, model, picker, _ = setup({"strategy": "latency"})
    for name in ("a", "b", "c"):
        picker.latency.observe(name, total_s=0.2, ttft_s=0.05, tokens=16)
    assert firsts(picker, cat, model).most_common(1)[0][0] == "d"


def test_latency_averages_ttft_and_time_per_token() -> None:
    stats = LatencyStats()
    stats.observe("a", total_s=1.1, ttft_s=0.1, tokens=11)  # 0.1 s per token after the first
    assert stats.expected_s("a", 10) == pytest.approx(0.1 + 1.0)
    stats.observe("a", total_s=2.1, ttft_s=0.1, tokens=11)
    assert stats.expected_s("a", 10) == pytest.approx(0.1 + 10 * (0.1 + 0.2 * 0.1))


def test_cost_prefers_the_cheapest_deployment_by_its_own_price() -> None:
    def priced(i: int, o: int) -> dict[str, Any]:
        return {"pricing": {"input_micro_usd_per_mtok": i, "output_micro_usd_per_mtok": o}}

    cat, model, picker, decisions = setup(
        {"strategy": "cost"}, a=priced(5, 5), b=priced(1, 2), c=priced(1, 10), d={}
    )
    assert [t.deployment.id for t in picker.plan(cat, model, "chat")] == ["b", "a", "c", "d"]
    assert decisions.seen[-1][1:] == ("cost", "b", "strategy")


def test_cost_skips_an_open_breaker() -> None:
    def priced(i: int) -> dict[str, Any]:
        return {"pricing": {"input_micro_usd_per_mtok": i, "output_micro_usd_per_mtok": i}}

    cat, model, picker, _ = setup(
        {"strategy": "cost"}, a=priced(1), b=priced(2), c=priced(3), d=priced(4)
    )
    for _ in range(2):
        picker.states.started("a")
        picker.states.finished("a", ok=False)
    assert picker.plan(cat, model, "chat")[0].deployment.id == "b"


@pytest.mark.parametrize("strategy", ["weighted", "least_load", "latency", "cost"])
def test_key_affinity_is_sticky_whatever_the_strategy(strategy: str) -> None:
    cat, model, picker, decisions = setup({"strategy": strategy, "affinity": "key"})
    key = affinity_key(model.routing, "key_123", {})
    seen = {picker.plan(cat, model, "chat", affinity=key)[0].deployment.id for _ in range(50)}
    assert len(seen) == 1
    assert decisions.seen[-1][3] == "affinity"


def test_affinity_yields_to_an_open_breaker_and_comes_back() -> None:
    cat, model, picker, decisions = setup({"affinity": "key"})
    key = affinity_key(model.routing, "key_9", {})
    home = picker.plan(cat, model, "chat", affinity=key)[0].deployment.id
    for _ in range(2):
        picker.states.started(home)
        picker.states.finished(home, ok=False)
    spilled = {picker.plan(cat, model, "chat", affinity=key)[0].deployment.id for _ in range(20)}
    assert len(spilled) == 1 and home not in spilled  # the ring's next one, every time
    assert decisions.seen[-1][3] == "affinity_spill"
    picker.states.started(home)  # the half-open trial passes: the breaker closes
    picker.states.finished(home, ok=True)
    picker.states.get(home).open_until = 0.0
    assert picker.plan(cat, model, "chat", affinity=key)[0].deployment.id == home


def test_a_saturated_home_is_skipped() -> None:
    cat, model, picker, _ = setup({"affinity": "prefix"})
    key = affinity_key(model.routing, "k", {"messages": [{"role": "user", "content": "hi"}]})
    home = picker.plan(cat, model, "chat", affinity=key)[0].deployment.id
    picker.states.report_load(home, 4, 20, 0.99, saturated=True, fresh_for_s=60)
    assert picker.plan(cat, model, "chat", affinity=key)[0].deployment.id != home


def test_bounded_load_spreads_one_hot_prefix() -> None:
    cat, model, picker, decisions = setup({"affinity": "prefix", "load_factor": 1.25})
    key = affinity_key(model.routing, "k", {"messages": [{"role": "user", "content": "hot"}]})
    placed: Counter[str] = Counter()
    for _ in range(12):  # in flight together: each one raises its deployment's load
        first = picker.plan(cat, model, "chat", affinity=key)[0].deployment.id
        picker.states.started(first)
        placed[first] += 1
    assert max(placed.values()) <= 4 and len(placed) >= 3, placed  # ceil(1.25 * 12 / 4)
    assert {reason for *_, reason in decisions.seen} == {"affinity", "affinity_spill"}


def test_a_pre_filter_narrows_the_pool_before_the_strategy() -> None:
    cat, model, picker, _ = setup({"affinity": "key"})
    key = affinity_key(model.routing, "key_1", {})
    plan = picker.plan(cat, model, "chat", affinity=key, eligible=lambda d: d.id in ("b", "d"))
    assert {t.deployment.id for t in plan} == {"b", "d"}


def test_the_prefix_is_the_system_prompt_and_the_first_turn() -> None:
    system = {"role": "system", "content": "You are terse."}
    turn_1 = [system, {"role": "user", "content": "Hi"}]
    turn_2 = [*turn_1, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "?"}]
    other = [system, {"role": "user", "content": [{"type": "text", "text": "Bye"}]}]
    head = prefix_text({"messages": turn_1}, 4096)
    assert head == prefix_text({"messages": turn_2}, 4096)
    assert head != prefix_text({"messages": other}, 4096)
    long = [{"role": "system", "content": "x" * 10_000}, {"role": "user", "content": "Hi"}]
    assert len(prefix_text({"messages": long}, 4096)) == 4096
    assert prefix_text({"prompt": ["abc", "def"]}, 2) == "ab"


def _open_breaker(picker: DeploymentPicker, deployment: str) -> None:
    for _ in range(2):
        picker.states.started(deployment)
        picker.states.finished(deployment, ok=False)


def test_a_fallback_or_last_resort_decision_says_so() -> None:
    entry = catalog({"affinity": "key"}).models[0].model_dump()
    spare = {
        **entry,
        "name": "spare",
        "routing": {},
        "deployments": [{**entry["deployments"][0], "name": "spare-a"}],
    }
    cat = Catalog.model_validate({"models": [{**entry, "fallbacks": ["spare"]}, spare]})
    model = cat.get("m")
    assert model is not None
    decisions = Decisions()
    picker = DeploymentPicker(DeploymentStates(2, 30.0), random.Random(3), decisions=decisions)
    for name in NAMES:
        _open_breaker(picker, name)
    key = affinity_key(model.routing, "key_1", {})
    assert [t.deployment.id for t in picker.plan(cat, model, "chat", affinity=key)] == ["spare-a"]
    assert decisions.seen[-1] == ("m", "weighted", "spare-a", "fallback")
    _open_breaker(picker, "spare-a")
    assert len(picker.plan(cat, model, "chat", affinity=key)) == 1  # tried anyway
    assert decisions.seen[-1][3] == "last_resort"


@pytest.mark.parametrize(
    "routing",
    [{"strategy": "fastest"}, {"affinity": "session"}, {"load_factor": 0.5}, {"prefix_chars": 0}],
)
def test_a_catalog_with_a_bad_routing_policy_is_refused(routing: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="routing"):
        catalog(routing)
