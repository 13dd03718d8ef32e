"""Token and cost counters, deployment gauges and the process collectors on the router's
/metrics, moved by real requests through a real router process."""

from __future__ import annotations

from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.metrics import ServiceMetrics
from aistrale_router.gateway.metrics import GatewayMetrics
from aistrale_router.observability.usage_metrics import OrgLabel
from aistrale_testkit.router.harness import Router

from .test_request_metrics import MESSAGES, PREFIX, post, scrape, value


async def test_tokens_and_cost_count_per_model_as_metered(router: Router) -> None:
    key = router.new_key()
    before = await scrape(router)
    answer = await post(router, key, {"model": "chat-model", "messages": MESSAGES})
    assert answer.status_code == 200, answer.text
    event = await router.usage.wait_for(answer.headers["x-request-id"])
    after = await scrape(router)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert event.prompt_tokens > 0 and event.completion_tokens > 0 and event.cost_micro_usd > 0
    assert delta("tokens_total", model="chat-model", kind="prompt") == event.prompt_tokens
    assert delta("tokens_total", model="chat-model", kind="completion") == event.completion_tokens
    assert delta("cost_micro_usd_total", model="chat-model") == event.cost_micro_usd
    # org_id is opt-in: off here, so no series carries it.
    assert not [labels for name, labels in after if "tokens" in name and "org_id" in dict(labels)]


async def test_deployment_gauges_and_process_collectors(router: Router) -> None:
    key = router.new_key()
    for _ in range(2):  # the fake's 500s: failures the breaker counts
        await post(router, key, {"model": "broken-model", "messages": MESSAGES})
    samples = await scrape(router)
    broken = {
        dict(labels)["state"]: v
        for (name, labels), v in samples.items()
        if name == PREFIX + "breaker_state" and dict(labels)["model"] == "broken-model"
    }
    assert set(broken) == {"closed", "open", "half_open"} and sum(broken.values()) == 1
    chat = {
        dict(labels)["state"]: v
        for (name, labels), v in samples.items()
        if name == PREFIX + "breaker_state" and dict(labels)["model"] == "chat-model"
    }
    assert chat["closed"] == 1
    inflight = [
        v
        for (name, labels), v in samples.items()
        if name == PREFIX + "deployment_inflight" and dict(labels)["model"] == "chat-model"
    ]
    assert inflight == [0]
    names = {name for name, _ in samples}
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes"} <= names
    assert "python_gc_collections_total" in names and "python_info" in names


def _event(org: str, prompt: int = 3, completion: int = 5, cost: int = 7) -> UsageEventV1:
    return UsageEventV1(
        request_id="r",
        org_id=org,
        key_id="k",
        endpoint="chat",
        model="m",
        status=200,
        latency_ms=1.0,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_micro_usd=cost,
    )


def test_the_org_label_is_bounded_when_asked_for() -> None:
    metrics = ServiceMetrics("api-router")
    gateway = GatewayMetrics(metrics, {"m"}.__contains__, OrgLabel(2))
    for org in ("a", "b", "c", "d", "a"):
        gateway.metered(_event(org))

    def cost(org: str) -> float | None:
        labels = {"model": "m", "org_id": org}
        return metrics.registry.get_sample_value(PREFIX + "cost_micro_usd_total", labels)

    assert (cost("a"), cost("b"), cost("other")) == (14, 7, 14)
    assert cost("c") is None and cost("d") is None
    tokens = metrics.registry.get_sample_value(
        PREFIX + "tokens_total", {"model": "m", "kind": "completion", "org_id": "other"}
    )
    assert tokens == 10
