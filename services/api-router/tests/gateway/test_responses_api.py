"""POST /v1/responses with the official openai SDK, against the router process in front of
a fake vLLM that speaks chat completions only (the package's `router`)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from aistrale_testkit.router.fake_vllm import REPLY
from aistrale_testkit.router.harness import Router
from aistrale_testkit.router.sdk import open_sdk

TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        "strict": False,
    }
]
STREAM_ORDER = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def sdk(router: Router, key: str | None = None) -> openai.AsyncOpenAI:
    return open_sdk(router.url + "/v1", key or router.new_key(), timeout=15)


async def test_a_string_input_is_answered_as_a_response_and_metered(router: Router) -> None:
    raw = await sdk(router).responses.with_raw_response.create(
        model="chat-model",
        input="Say hello",
        instructions="Be brief.",
        max_output_tokens=64,
        temperature=0.2,
        top_p=0.9,
    )
    response = raw.parse()
    Response.model_validate(response.model_dump())  # the SDK's own type, strictly
    assert response.status == "completed" and response.output_text == REPLY
    assert response.model == "chat-model" and response.instructions == "Be brief."
    sent = router.vllm.log.bodies[-1]
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hello"},
    ]
    assert (sent["max_tokens"], sent["temperature"], sent["top_p"]) == (64, 0.2, 0.9)
    assert response.usage is not None
    event = await router.usage.wait_for(raw.headers["x-request-id"])
    assert (event.endpoint, event.status, event.model) == ("responses", 200, "chat-model")
    assert event.prompt_tokens == response.usage.input_tokens
    assert event.completion_tokens == response.usage.output_tokens == len(REPLY.split(" "))


async def test_stream_events_come_in_openai_order_and_complete_with_usage(router: Router) -> None:
    stream = await sdk(router).responses.create(model="chat-model", input="Hi", stream=True)
    events: list[ResponseStreamEvent] = [event async for event in stream]
    kinds = [e.type for e in events]
    deltas = kinds.count("response.output_text.delta")
    expected = STREAM_ORDER[:4] + ["response.output_text.delta"] * deltas + STREAM_ORDER[5:]
    assert kinds == expected and deltas == len(REPLY.split(" "))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == REPLY and completed.response.usage is not None
    assert completed.response.usage.output_tokens == deltas
    event = await router.usage.wait_for(stream.response.headers["x-request-id"])
    assert event.endpoint == "responses" and event.stream and event.status == 200


async def test_the_sdk_stream_helper_gives_the_final_response(router: Router) -> None:
    async with sdk(router).responses.stream(model="chat-model", input="Hi") as stream:
        text = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        final = await stream.get_final_response()
    assert "".join(text) == REPLY == final.output_text
    assert final.status == "completed"


@pytest.mark.parametrize("streamed", [False, True])
async def test_tools_round_trip(router: Router, streamed: bool) -> None:
    client = sdk(router)
    first = await _create(client, streamed, model="chat-model", input="Weather?", tools=TOOLS)
    call = first.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    assert router.vllm.log.bodies[-1]["tools"][0]["function"]["name"] == "get_weather"
    follow_up: Any = [
        {"role": "user", "content": "Weather?"},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
    ]
    second = await _create(client, streamed, model="chat-model", input=follow_up, tools=TOOLS)
    assert second.output_text == REPLY
    messages = router.vllm.log.bodies[-1]["messages"]
    assert messages[1]["tool_calls"][0]["id"] == call.call_id
    assert messages[2] == {"role": "tool", "tool_call_id": call.call_id, "content": "sunny"}


async def test_text_format_json_schema_becomes_response_format(router: Router) -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "string"}}}
    await sdk(router).responses.create(
        model="chat-model",
        input="JSON please",
        text={"format": {"type": "json_schema", "name": "thing", "schema": schema}},
    )
    assert router.vllm.log.bodies[-1]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "thing", "schema": schema},
    }


async def test_previous_response_id_continues_and_get_delete_are_per_org(router: Router) -> None:
    key = router.new_key()
    client = sdk(router, key)
    first = await client.responses.create(model="chat-model", input="My name is Ada.")
    second = await client.responses.create(
        model="chat-model", input="What is my name?", previous_response_id=first.id
    )
    assert [m["content"] for m in router.vllm.log.bodies[-1]["messages"]] == [
        "My name is Ada.",
        REPLY,
        "What is my name?",
    ]
    got = await client.responses.retrieve(second.id)
    assert got.id == second.id and got.output_text == REPLY
    other = sdk(router, router.new_key(org_id="org_other"))
    for attempt in (other.responses.retrieve(second.id), other.responses.delete(second.id)):
        with pytest.raises(openai.NotFoundError) as found:
            await attempt
        assert isinstance(found.value.body, dict)
        assert found.value.body["message"] == f"Response with id '{second.id}' not found."
    with pytest.raises(openai.NotFoundError):
        await other.responses.create(model="chat-model", input="Hi", previous_response_id=second.id)
    await client.responses.delete(second.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(second.id)


async def test_store_false_is_not_retrievable(router: Router) -> None:
    client = sdk(router)
    response = await client.responses.create(model="chat-model", input="Hi", store=False)
    assert response.output_text == REPLY
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(response.id)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "chat-model"}, "input"),
        ({"model": "chat-model", "input": [{"role": "wizard", "content": "x"}]}, "input[0].role"),
        ({"model": "chat-model", "input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"model": "chat-model", "input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"model": "chat-model", "input": "x", "temperature": 9}, "temperature"),
        ({"model": "chat-model", "input": [{"role": ["user"], "content": "x"}]}, "input[0].role"),
        ({"model": "chat-model", "input": [{"role": "user", "content": [7]}]}, "input[0].content"),
        ({"model": "chat-model", "input": "x", "tool_choice": {"type": 1}}, "tool_choice"),
        ({"model": "chat-model", "input": "x", "previous_response_id": 5}, "previous_response_id"),
        (
            {"model": "chat-model", "input": "x", "text": {"format": {"type": "yaml"}}},
            "text.format",
        ),
    ],
)
async def test_bad_input_is_a_400_in_openai_shape(
    router: Router, body: dict[str, Any], param: str
) -> None:
    key = router.new_key()
    async with httpx.AsyncClient(base_url=router.url) as http:
        answer = await http.post(
            "/v1/responses", json=body, headers={"authorization": f"Bearer {key}"}
        )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    event = await router.usage.wait_for(answer.headers["x-request-id"])
    assert (event.endpoint, event.status) == ("responses", 400)


async def test_a_wrong_key_is_a_401_in_openai_shape(router: Router) -> None:
    with pytest.raises(openai.AuthenticationError) as refused:
        await sdk(router, "sk-wrong").responses.create(model="chat-model", input="Hi")
    assert refused.value.code == "invalid_api_key"


async def test_a_stream_cut_mid_way_ends_with_error_and_response_failed(router: Router) -> None:
    stream = await sdk(router).responses.create(
        model="chat-model", input="CUT_STREAM please", stream=True
    )
    events = [event async for event in stream]
    kinds = [e.type for e in events]
    assert kinds[:4] == STREAM_ORDER[:4] and "response.output_text.delta" in kinds
    assert kinds[-2:] == ["error", "response.failed"]
    failed = events[-1]
    assert failed.type == "response.failed" and failed.response.status == "failed"
    assert failed.response.error is not None and failed.response.error.code == "server_error"
    event = await router.usage.wait_for(stream.response.headers["x-request-id"])
    assert event.endpoint == "responses" and event.status == 502


async def _create(client: openai.AsyncOpenAI, streamed: bool, **fields: Any) -> Response:
    if not streamed:
        created: Response = await client.responses.create(**fields)
        return created
    stream = await client.responses.create(stream=True, **fields)
    events = [event async for event in stream]
    last = events[-1]
    assert last.type == "response.completed"
    completed: Response = last.response
    return completed


STRICT_EVENT: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        ("chat-model", {"input": "Hi"}),
        ("chat-model", {"input": "Weather?", "tools": TOOLS}),
        ("chat-model", {"input": "CUT_STREAM please"}),
        ("adapted-model", {"input": "Hi"}),  # through the `openai` provider adapter
    ],
)
async def test_every_streamed_event_validates_strictly_against_the_sdk_types(
    router: Router, model: str, fields: dict[str, Any]
) -> None:
    """The SDK builds stream events without validating them: here each one is validated
    (pydantic, strict about required fields), with its SSE `event:` name."""
    key = router.new_key()
    body = {"model": model, "stream": True, **fields}
    async with (
        httpx.AsyncClient(base_url=router.url, timeout=15) as http,
        http.stream(
            "POST", "/v1/responses", json=body, headers={"authorization": f"Bearer {key}"}
        ) as answer,
    ):
        assert answer.headers["content-type"].startswith("text/event-stream")
        text = "".join([part async for part in answer.aiter_text()])
    blocks = [b for b in text.split("\n\n") if b]
    assert blocks, text
    for block in blocks:
        name_line, data_line = block.split("\n")
        event = STRICT_EVENT.validate_python(json.loads(data_line.removeprefix("data: ")))
        assert name_line == f"event: {event.type}"
        if hasattr(event, "response"):
            Response.model_validate(event.response.model_dump())


@pytest.mark.parametrize("response_id", ["resp_%00", "x" * 300, "resp_abc"])
async def test_an_id_we_could_not_have_made_is_a_404(router: Router, response_id: str) -> None:
    key = router.new_key()
    async with httpx.AsyncClient(base_url=router.url) as http:
        for method in ("GET", "DELETE"):
            answer = await http.request(
                method, f"/v1/responses/{response_id}", headers={"authorization": f"Bearer {key}"}
            )
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["type"] == "invalid_request_error"


async def test_rate_limits_and_budgets_apply_with_openai_headers(router: Router) -> None:
    limited = sdk(router, router.new_key(rpm_limit=1))
    first = await limited.responses.with_raw_response.create(model="chat-model", input="Hi")
    assert first.headers["x-ratelimit-limit-requests"] == "1"
    with pytest.raises(openai.RateLimitError) as raised:
        await limited.responses.create(model="chat-model", input="Hi")
    assert raised.value.code == "rate_limit_exceeded"
    assert raised.value.response.headers.get("retry-after")
    budget = {"scope": "org", "scope_id": "org-poor-r", "limit_micro_usd": 1, "period": "total"}
    poor = sdk(router, router.new_key(org_id="org-poor-r", budgets=[budget]))
    with pytest.raises(openai.RateLimitError) as raised:
        await poor.responses.create(model="chat-model", input="Hi", max_output_tokens=4096)
    assert raised.value.code == "insufficient_quota"
