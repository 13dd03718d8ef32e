"""POST /v1/messages to an Anthropic deployment: the anthropic SDK against the router process
in front of a fake Anthropic Messages API (aistrale_testkit.router.fake_anthropic). The
client's body reaches Anthropic as it was written (only the model name changes), and
Anthropic's answer and events reach the client as they came, metered from Anthropic's own
usage; a fallback to a chat-only vLLM is translated as before."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import pytest
import yaml
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from aistrale_router.keys.record import KeyRecord
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router import fake_anthropic
from aistrale_testkit.router.fake_anthropic import FakeAnthropic
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import REPLY, FakeVllm
from aistrale_testkit.router.harness import UsageEvents, router_process
from aistrale_testkit.router.server import serve_in_thread

UPSTREAM_KEY = "sk-ant-platform-" + secrets.token_hex(8)
EVENT: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)
PRICING = {"input_micro_usd_per_mtok": 1_000_000, "output_micro_usd_per_mtok": 2_000_000}
BETA = "interleaved-thinking-2025-05-14"
HI: Any = [{"role": "user", "content": "Hi"}]
WEB_SEARCH: Any = {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}


@dataclass
class Stack:
    url: str
    upstream: FakeAnthropic
    vllm: FakeVllm
    userorg: FakeUserOrg
    usage: UsageEvents

    def client(self) -> anthropic.AsyncAnthropic:
        token = "sk-test-" + secrets.token_hex(16)
        record = {"key_id": "key_" + secrets.token_hex(4), "org_id": "org_native",
                  "status": "active"}  # fmt: skip
        self.userorg.add_key(token, KeyRecord.model_validate(record))
        return anthropic.AsyncAnthropic(base_url=self.url, api_key=token, timeout=15, max_retries=0)


def _catalog(anthropic_url: str, vllm_url: str) -> dict[str, object]:
    def claude(upstream: str) -> dict[str, object]:
        return {"provider": "anthropic", "base_url": anthropic_url, "model": upstream,
                "api_key_env": "AISTRALE_TEST_ANTHROPIC_KEY"}  # fmt: skip

    vllm = {"provider": "vllm", "base_url": f"{vllm_url}/v1", "model": "fake-chat"}
    return {
        "models": [
            {"name": "claude", "deployments": [claude("claude-up")], "pricing": PRICING},
            {"name": "chat-only", "deployments": [vllm], "pricing": PRICING},
            {
                "name": "claude-busy",
                "deployments": [claude("claude-overloaded")],
                "fallbacks": ["chat-only"],
                "pricing": PRICING,
            },
        ]
    }


@pytest.fixture(scope="module")
def stack(infra: Infra, tmp_path: Path, usage_events: UsageEvents) -> Iterator[Stack]:
    upstream, vllm = FakeAnthropic(UPSTREAM_KEY), FakeVllm()
    token = secrets.token_urlsafe(24)
    userorg = FakeUserOrg(service_token=token)
    with (
        serve_in_thread(upstream.app) as anthropic_url,
        serve_in_thread(vllm.app) as vllm_url,
        serve_in_thread(userorg.app) as userorg_url,
    ):
        models = tmp_path / "models.yaml"
        models.write_text(yaml.safe_dump(_catalog(anthropic_url, vllm_url)))
        keys = {"AISTRALE_TEST_ANTHROPIC_KEY": UPSTREAM_KEY}
        with router_process(infra, tmp_path, userorg_url, token, models, keys) as url:
            yield Stack(url, upstream, vllm, userorg, usage_events)


@pytest.fixture(scope="module")
def tmp_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("native")


NATIVE_ONLY: dict[str, Any] = {
    "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    "metadata": {"user_id": "u-1"},
    "thinking": {"type": "enabled", "budget_tokens": 1024},
}


async def test_the_clients_body_reaches_anthropic_and_its_answer_comes_back(s: Stack) -> None:
    raw = await s.client().messages.with_raw_response.create(
        model="claude", max_tokens=2048, messages=HI, **NATIVE_ONLY,
        extra_body={"top_k": 5}, extra_headers={"anthropic-beta": BETA},
    )  # fmt: skip
    message = await raw.parse()
    sent = s.upstream.bodies[-1]
    assert sent == {"model": "claude-up", "max_tokens": 2048, "messages": HI, "top_k": 5,
                    **NATIVE_ONLY}  # fmt: skip
    seen = s.upstream.headers[-1]
    assert seen["x-api-key"] == UPSTREAM_KEY and "authorization" not in seen
    assert seen["anthropic-beta"] == BETA
    assert seen["anthropic-version"] == raw.http_request.headers["anthropic-version"]
    Message.model_validate(message.model_dump())
    thinking, text = message.content
    assert thinking.type == "thinking" and thinking.signature == fake_anthropic.SIGNATURE
    assert text.type == "text" and text.text == "".join(fake_anthropic.WORDS)
    assert message.model == "claude" and message.stop_reason == "end_turn"
    usage = message.usage
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (5, 7)
    event = await s.usage.wait_for(raw.headers["x-request-id"])
    assert (event.endpoint, event.status, event.model, event.provider) == (
        "messages", 200, "claude", "anthropic")  # fmt: skip
    assert event.prompt_tokens == 11 + 5 + 7 and event.cached_tokens == 5
    assert event.completion_tokens == usage.output_tokens


async def test_a_stream_is_anthropics_own_events(s: Stack) -> None:
    async with s.client().messages.stream(
        model="claude", max_tokens=2048, messages=HI, **NATIVE_ONLY
    ) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_message()
    raw = [e for e in events if e.type not in ("text", "thinking", "signature", "citation")]
    for streamed in raw:
        EVENT.validate_python(streamed.model_dump())
    kinds = [e.type for e in raw]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == 2  # thinking, then text
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].type == "thinking"
    assert final.content[0].signature == fake_anthropic.SIGNATURE
    assert final.model == "claude" and final.usage.cache_read_input_tokens == 5
    assert s.upstream.bodies[-1]["stream"] is True
    event = await s.usage.wait_for(stream.response.headers["x-request-id"])
    assert event.stream and event.status == 200 and event.prompt_tokens == 23
    assert event.completion_tokens == final.usage.output_tokens


@pytest.mark.parametrize("streamed", [False, True])
async def test_max_tokens_is_anthropics_stop_reason_end_to_end(s: Stack, streamed: bool) -> None:
    client = s.client()
    message: Message
    if streamed:
        async with client.messages.stream(model="claude", max_tokens=2, messages=HI) as stream:
            message = await stream.get_final_message()
    else:
        message = await client.messages.create(model="claude", max_tokens=2, messages=HI)
    assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 2


async def test_a_server_tool_goes_to_anthropic_and_nowhere_else(s: Stack) -> None:
    client = s.client()
    await client.messages.create(model="claude", max_tokens=64, messages=HI, tools=[WEB_SEARCH])
    assert s.upstream.bodies[-1]["tools"] == [WEB_SEARCH]
    sent = len(s.vllm.log.bodies)
    with pytest.raises(anthropic.BadRequestError) as refused:
        await client.messages.create(
            model="chat-only", max_tokens=64, messages=HI, tools=[WEB_SEARCH]
        )
    assert "tools.0" in refused.value.message and len(s.vllm.log.bodies) == sent
    assert refused.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


async def test_an_overloaded_anthropic_falls_back_to_a_translated_vllm(s: Stack) -> None:
    raw = await s.client().messages.with_raw_response.create(
        model="claude-busy", max_tokens=64, messages=HI, **NATIVE_ONLY
    )
    message = await raw.parse()
    Message.model_validate(message.model_dump())
    assert message.content[0].type == "text" and message.content[0].text == REPLY
    assert s.upstream.bodies[-1]["model"] == "claude-overloaded"
    assert s.vllm.log.bodies[-1]["messages"][0] == {"role": "system", "content": "Be brief."}
    event = await s.usage.wait_for(raw.headers["x-request-id"])
    assert event.status == 200 and event.provider == "vllm" and event.attempts == 2


@pytest.mark.parametrize("trigger", ["STREAM_ERROR", "CUT_STREAM"])
async def test_a_broken_native_stream_ends_in_anthropics_error_event(
    s: Stack, trigger: str
) -> None:
    stream = await s.client().messages.create(
        model="claude", max_tokens=64, messages=[{"role": "user", "content": trigger}],
        stream=True,
    )  # fmt: skip
    seen: list[str] = []
    with pytest.raises(anthropic.APIStatusError):
        async for streamed in stream:
            seen.append(streamed.type)
    assert seen[0] == "message_start" and "message_stop" not in seen
    metered = await s.usage.wait_for(stream.response.headers["x-request-id"])
    assert metered.status >= 500 and metered.completion_tokens >= 1


def test_the_fakes_answers_are_anthropic_sdk_types() -> None:
    body = {"model": "m", "max_tokens": 3, "messages": HI, **NATIVE_ONLY}
    message = fake_anthropic.answer(body)
    assert Message.model_validate(message.model_dump(mode="json")) == message


@pytest.fixture
def s(stack: Stack) -> Stack:
    return stack


def test_a_governed_request_is_not_sent_native() -> None:
    from aistrale_common.errors import InvalidRequest
    from aistrale_router.gateway.service import _ungoverned_native
    from aistrale_router.providers.base import NativeBody

    plain = NativeBody("messages", "anthropic", {"model": "m"})
    assert _ungoverned_native(plain, "none") is plain
    assert _ungoverned_native(plain, "scanned") is plain  # the chat form held every text
    assert _ungoverned_native(plain, "changed") is None  # the chat form is the governed one
    server_tool = NativeBody("messages", "anthropic", {"model": "m"}, only=("messages.0",))
    assert _ungoverned_native(server_tool, "none") is server_tool
    for touched in ("scanned", "changed"):  # both see only the chat form
        with pytest.raises(InvalidRequest) as refused:
            _ungoverned_native(server_tool, touched)
        assert refused.value.param == "messages.0"
