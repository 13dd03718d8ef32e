"""The router process's /metrics: the request series the alerts and dashboards read move with
real requests (tests/deploy/test_metric_names.py checks the names exist)."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from aistrale_common.metrics import ServiceMetrics
from aistrale_router.gateway.metrics import GatewayMetrics
from aistrale_testkit.router.harness import Router

CHAT = "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "count me"}]
PREFIX = "aistrale_api_router_"


async def scrape(router: Router | str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """A router's samples; `router`: the harness's, or a router process's URL."""
    url = router if isinstance(router, str) else router.url
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        text = (await client.get("/metrics")).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((PREFIX + name, frozenset(labels.items())), 0.0)


def requests(samples: dict[Any, float], status: str, model: str, route: str = CHAT) -> float:
    return value(samples, "requests_total", route=route, status=status, model=model)


async def post(router: Router, key: str, body: dict[str, Any], path: str = CHAT) -> httpx.Response:
    async with httpx.AsyncClient(base_url=router.url, timeout=15) as client:
        return await client.post(path, json=body, headers={"authorization": f"Bearer {key}"})


async def test_a_completion_and_a_stream_count_and_time(router: Router) -> None:
    key = router.new_key()
    before = await scrape(router)
    answer = await post(router, key, {"model": "chat-model", "messages": MESSAGES})
    assert answer.status_code == 200, answer.text
    streamed = await post(
        router, key, {"model": "chat-model", "messages": MESSAGES, "stream": True}
    )
    assert streamed.status_code == 200 and streamed.content.endswith(b"data: [DONE]\n\n")
    await router.usage.wait_for(streamed.headers["x-request-id"])  # metered: the stream ended
    after = await scrape(router)

    assert requests(after, "200", "chat-model") - requests(before, "200", "chat-model") == 2
    timed = "request_seconds_count"
    assert value(after, timed, route=CHAT) - value(before, timed, route=CHAT) == 2
    # Only the stream has a time to first token; a complete answer's is its whole latency.
    ttft = "upstream_ttft_seconds_count"
    assert value(after, ttft, model="chat-model") - value(before, ttft, model="chat-model") == 1
    first = value(after, "upstream_ttft_seconds_sum", model="chat-model") - value(
        before, "upstream_ttft_seconds_sum", model="chat-model"
    )
    assert 0 < first < 15


async def test_failures_count_with_their_status_and_a_bounded_model(router: Router) -> None:
    key = router.new_key()
    raw_model = "not-a-model-" + secrets.token_hex(4)
    before = await scrape(router)
    missing = await post(router, key, {"model": raw_model, "messages": MESSAGES})
    assert missing.status_code == 404
    broken = await post(router, key, {"model": "broken-model", "messages": MESSAGES})
    assert broken.status_code == 502
    forbidden = await post(router, key, {"model": "secret-model", "messages": MESSAGES})
    assert forbidden.status_code == 403
    unknown_key = await post(router, "sk-wrong-" + secrets.token_hex(8), {"model": "chat-model"})
    assert unknown_key.status_code == 401
    bad_json = await post(router, key, {"messages": MESSAGES})  # no model: refused unparsed
    assert bad_json.status_code == 400
    after = await scrape(router)

    def delta(status: str, model: str) -> float:
        return requests(after, status, model) - requests(before, status, model)

    assert delta("404", "unknown") == 1
    assert delta("502", "broken-model") == 1
    assert delta("403", "secret-model") == 1
    assert delta("401", "unknown") == 1
    assert delta("400", "unknown") == 1
    assert not [labels for _, labels in after if ("model", raw_model) in labels]


async def test_a_budget_refusal_counts_for_its_org(router: Router) -> None:
    org = "org-broke-" + secrets.token_hex(4)
    budget = {"scope": "org", "scope_id": org, "limit_micro_usd": 1, "period": "total"}
    key = router.new_key(org_id=org, budgets=[budget])
    other = router.new_key(org_id="org-rich-" + secrets.token_hex(4))
    before = await scrape(router)
    for _ in range(2):
        refused = await post(router, key, {"model": "chat-model", "messages": MESSAGES})
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "insufficient_quota"
    assert (await post(router, other, {"model": "chat-model", "messages": MESSAGES})).is_success
    after = await scrape(router)

    assert value(before, "budget_rejections_total", org_id=org) == 0
    assert value(after, "budget_rejections_total", org_id=org) == 2
    rejected_orgs = {
        dict(labels)["org_id"]
        for name, labels in after
        if name == PREFIX + "budget_rejections_total"
    }
    assert org in rejected_orgs and not any(o.startswith("org-rich-") for o in rejected_orgs)
    assert requests(after, "429", "chat-model") - requests(before, "429", "chat-model") == 2


def test_client_model_strings_never_become_labels() -> None:
    catalog = {"m"}
    metrics = ServiceMetrics("api-router")
    gateway = GatewayMetrics(metrics, catalog.__contains__)
    for i in range(50):
        gateway.finished("chat", f"made-up-{i}", 404, 0.01, None)
    gateway.finished("chat", "m", 200, 0.02, 0.005)
    gateway.finished("embeddings", "later", 200, 0.02, None)
    catalog.add("later")  # the catalog reloaded with it: from now on its own series
    gateway.finished("embeddings", "later", 200, 0.02, None)

    def count(status: str, model: str, route: str = CHAT) -> float | None:
        labels = {"route": route, "status": status, "model": model}
        return metrics.registry.get_sample_value(PREFIX + "requests_total", labels)

    assert count("404", "unknown") == 50
    assert count("200", "m") == 1
    assert count("200", "unknown", "/v1/embeddings") == 1
    assert count("200", "later", "/v1/embeddings") == 1
    series = [s for f in metrics.registry.collect() for s in f.samples if s.name.endswith("_total")]
    assert {s.labels["model"] for s in series if "model" in s.labels} == {"unknown", "m", "later"}
    ttft = metrics.registry.get_sample_value(PREFIX + "upstream_ttft_seconds_sum", {"model": "m"})
    assert ttft == 0.005


async def test_messages_count_under_their_own_route(router: Router) -> None:
    before = await scrape(router)
    headers = {"x-api-key": router.new_key()}
    body = {"model": "chat-model", "max_tokens": 5, "messages": MESSAGES}
    async with httpx.AsyncClient(base_url=router.url, timeout=10) as client:
        assert (await client.post("/v1/messages", json=body, headers=headers)).is_success
        refused = await client.post("/v1/messages", json=body, headers={"x-api-key": "sk-no"})
        assert refused.status_code == 401
    after = await scrape(router)

    def delta(status: str, model: str, route: str) -> float:
        return requests(after, status, model, route) - requests(before, status, model, route)

    assert delta("200", "chat-model", "/v1/messages") == 1
    assert delta("401", "unknown", "/v1/messages") == 1
    assert delta("200", "chat-model", CHAT) == 0
