"""The picker with load: reported vLLM gauges against this router's own in-flight counts,
weights, saturation and stale reports."""

from __future__ import annotations

import random
from collections import Counter

from aistrale_router.catalog.schema import Catalog, ModelEntry
from aistrale_router.routing.picker import DeploymentPicker
from aistrale_router.routing.state import DeploymentStates

FRESH_S = 6.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def model(*deployments: tuple[str, int], fallbacks: tuple[str, ...] = ()) -> Catalog:
    entry = {
        "name": "m",
        "deployments": [
            {
                "provider": "vllm",
                "base_url": f"http://{name}/v1",
                "model": "m",
                "name": name,
                "weight": weight,
            }
            for name, weight in deployments
        ],
        "fallbacks": list(fallbacks),
    }
    other = {
        "name": "f",
        "deployments": [{"provider": "vllm", "base_url": "http://f/v1", "model": "f", "name": "f"}],
    }
    return Catalog.model_validate({"models": [entry, other]})


def make_picker() -> tuple[DeploymentStates, DeploymentPicker, Clock]:
    clock = Clock()
    states = DeploymentStates(failures=3, open_s=10, clock=clock)
    return states, DeploymentPicker(states, random.Random(11)), clock


def firsts(picker: DeploymentPicker, catalog: Catalog, n: int = 400) -> Counter[str]:
    entry = catalog.get("m")
    assert isinstance(entry, ModelEntry)
    return Counter(picker.plan(catalog, entry, "chat")[0].deployment.id for _ in range(n))


def report(
    states: DeploymentStates,
    name: str,
    running: int,
    waiting: int = 0,
    kv: float | None = 0.1,
    *,
    saturated: bool = False,
) -> None:
    states.report_load(name, running, waiting, kv, saturated=saturated, fresh_for_s=FRESH_S)


def test_without_load_the_weights_decide() -> None:
    _, picker, _ = make_picker()
    counts = firsts(picker, model(("a", 3), ("b", 1)), 2000)
    assert 0.70 < counts["a"] / 2000 < 0.80


def test_the_deployment_that_reports_less_load_goes_first() -> None:
    states, picker, _ = make_picker()
    catalog = model(("a", 1), ("b", 1))
    report(states, "a", running=20, waiting=3)
    report(states, "b", running=2)
    assert firsts(picker, catalog) == {"b": 400}
    report(states, "a", running=1)  # a new report replaces the old one
    assert firsts(picker, catalog) == {"a": 400}


def test_load_is_compared_per_unit_of_weight() -> None:
    states, picker, _ = make_picker()
    catalog = model(("big", 4), ("small", 1))
    report(states, "big", running=12)  # 3 per unit of weight
    report(states, "small", running=4)  # 4 per unit of weight
    assert firsts(picker, catalog) == {"big": 400}
    report(states, "big", running=20)  # 5 per unit
    assert firsts(picker, catalog) == {"small": 400}


def test_own_in_flight_counts_when_it_is_higher_than_the_report() -> None:
    states, picker, _ = make_picker()
    catalog = model(("a", 1), ("b", 1))
    for _ in range(6):
        states.started("a")
    report(states, "b", running=4)
    assert firsts(picker, catalog) == {"b": 400}  # a: 6 of ours in flight, no report
    for _ in range(9):
        states.started("b")  # b said 4; we alone have sent 9 since
    assert firsts(picker, catalog) == {"a": 400}


def test_requests_sent_since_the_report_are_added_to_it() -> None:
    states, picker, _ = make_picker()
    catalog = model(("a", 1), ("b", 1))
    report(states, "a", running=5)
    report(states, "b", running=3)
    assert firsts(picker, catalog) == {"b": 400}
    for _ in range(3):
        states.started("b")  # not in b's report yet: b is at 6 now
    assert firsts(picker, catalog) == {"a": 400}
    for _ in range(3):
        states.finished("b", ok=True)  # back to what b reported
    assert firsts(picker, catalog) == {"b": 400}


def test_own_requests_ended_since_the_report_are_taken_off_it() -> None:
    states, _, _ = make_picker()
    states.started("a")
    report(states, "a", running=3)  # ours and two of other replicas'
    states.finished("a", ok=True)
    assert states.load("a", states.now()) == (False, 2)
    report(states, "b", running=0)  # ours had not reached b when it reported
    states.started("b")
    assert states.load("b", states.now()) == (False, 1)


def test_a_stale_report_is_ignored() -> None:
    states, picker, clock = make_picker()
    catalog = model(("a", 1), ("b", 1))
    report(states, "a", running=50)
    states.started("b")
    states.started("b")
    assert firsts(picker, catalog) == {"b": 400}
    clock.now += FRESH_S - 0.01
    assert firsts(picker, catalog) == {"b": 400}
    clock.now += 0.01  # gone stale: a is at 0 of our own, b at 2
    assert firsts(picker, catalog) == {"a": 400}
    assert states.load("a", clock.now) == (False, 0)


def test_a_saturated_deployment_goes_after_the_others_whatever_its_load() -> None:
    states, picker, _ = make_picker()
    catalog = model(("a", 5), ("b", 1), ("c", 1))
    report(states, "a", running=0, kv=0.99, saturated=True)
    report(states, "b", running=30)
    report(states, "c", running=40)
    entry = catalog.get("m")
    assert entry is not None
    for _ in range(100):
        order = [t.deployment.id for t in picker.plan(catalog, entry, "chat")]
        assert order == ["b", "c", "a"]


def test_a_saturated_deployment_still_answers_when_it_is_the_only_one_left() -> None:
    states, picker, _ = make_picker()
    alone = model(("a", 1))
    report(states, "a", running=90, waiting=50, kv=1.0, saturated=True)
    assert firsts(picker, alone, 10) == {"a": 10}
    catalog = model(("a", 1), ("b", 1))
    report(states, "b", running=10, saturated=True)
    assert firsts(picker, catalog) == {"b": 400}  # both saturated: the lighter first
    for _ in range(3):  # b's breaker opens: the saturated a is what is left
        states.started("b")
        states.finished("b", ok=False)
    entry = catalog.get("m")
    assert entry is not None
    assert [t.deployment.id for t in picker.plan(catalog, entry, "chat")] == ["a"]


def test_saturation_ends_with_the_report() -> None:
    states, picker, clock = make_picker()
    catalog = model(("a", 1), ("b", 1))
    report(states, "a", running=0, waiting=100, saturated=True)
    report(states, "b", running=40)
    assert firsts(picker, catalog) == {"b": 400}
    clock.now += FRESH_S  # both stale: own in-flight only, none anywhere: weights
    counts = firsts(picker, catalog)
    assert counts["a"] > 150 and counts["b"] > 150


def test_fallbacks_come_after_the_models_own_deployments_whatever_their_load() -> None:
    states, picker, _ = make_picker()
    catalog = model(("a", 1), fallbacks=("f",))
    report(states, "a", running=100, waiting=100, saturated=True)
    entry = catalog.get("m")
    assert entry is not None
    plan = picker.plan(catalog, entry, "chat")
    assert [(t.deployment.id, t.fallback_from) for t in plan] == [("a", None), ("f", "m")]
