"""Prompt templates and PII guardrails, end to end: a real user-org process stores them
(audited, one org's invisible to another), a real router process applies them to
/v1/chat/completions called with the openai SDK, and the upstream shows what was sent."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import orjson
import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aistrale_testkit.fixtures import Infra
from aistrale_testkit.processes import python_module_argv, service_process
from aistrale_testkit.router.harness import router_process
from aistrale_testkit.router.server import serve_in_thread
from aistrale_testkit.tcp_proxy import free_port

from .userorg_process import ADMIN, userorg_env

LEAK = "Write me to leak.person@example.org or call +1 415-555-0132."


@dataclass
class Upstream:
    """An OpenAI-format server: logs the bodies it gets; answers `LEAK` when asked to."""

    bodies: list[dict[str, Any]] = field(default_factory=list)

    async def chat(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        self.bodies.append(body)
        last = str(body["messages"][-1].get("content"))
        content = LEAK if "LEAK" in last else "ok"
        answer = {
            "id": "chatcmpl-gov",
            "object": "chat.completion",
            "created": 1,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
        }
        return Response(orjson.dumps(answer), media_type="application/json")

    async def completions(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        self.bodies.append(body)
        answer = {
            "id": "cmpl-gov",
            "object": "text_completion",
            "created": 1,
            "model": body["model"],
            "choices": [{"index": 0, "text": "ok", "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        }
        return Response(orjson.dumps(answer), media_type="application/json")


@dataclass
class Stack:
    userorg: str
    router: str
    upstream: Upstream
    admin: httpx.Client

    def org(self, name: str) -> tuple[str, openai.OpenAI]:
        """(org id, an openai client with a key of the org)."""
        org = self.admin.post("/admin/v1/orgs", json={"name": f"{name}-{secrets.token_hex(3)}"})
        assert org.status_code == 201, org.text
        org_id = org.json()["id"]
        key = self.admin.post(f"/admin/v1/orgs/{org_id}/keys", json={"name": "k"})
        assert key.status_code == 201, key.text
        client = openai.OpenAI(
            api_key=key.json()["key"], base_url=f"{self.router}/v1", max_retries=0
        )
        return org_id, client

    def sent(self, client: openai.OpenAI, messages: list[Any], **extra: Any) -> dict[str, Any]:
        """The body the upstream got for one chat request."""
        before = len(self.upstream.bodies)
        client.chat.completions.create(
            model="gov-model",
            messages=messages,
            extra_body=extra or None,
        )
        assert len(self.upstream.bodies) == before + 1
        return self.upstream.bodies[-1]


@pytest.fixture(scope="module")
def stack(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, create_pg_database: Callable[[str], str]
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("governance")
    token = secrets.token_urlsafe(32)
    port = free_port()
    env = {
        **userorg_env(infra, tmp, create_pg_database("router_gov"), token, "router-gov"),
        "AISTRALE_LAST_USED_CONSUMER": "false",
    }
    argv = python_module_argv("aistrale-user-org", "serve", "--port", str(port))
    upstream = Upstream()
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", upstream.chat, methods=["POST"]),
            Route("/v1/completions", upstream.completions, methods=["POST"]),
        ]
    )
    with (
        serve_in_thread(app) as upstream_url,
        service_process(argv, port, env, log_path=tmp / "user-org.log", ready_path="/ready") as uo,
    ):
        models = tmp / "models.yaml"
        models.write_text(yaml.safe_dump(_catalog(upstream_url)))
        with (
            router_process(infra, tmp, uo, token, models) as router,
            httpx.Client(base_url=uo, headers=_admin(uo), timeout=10) as admin,
        ):
            yield Stack(uo, router, upstream, admin)


def _catalog(upstream_url: str) -> dict[str, object]:
    pricing = {"input_micro_usd_per_mtok": 0, "output_micro_usd_per_mtok": 0}
    deployment = {"provider": "vllm", "base_url": f"{upstream_url}/v1", "model": "up-chat"}
    model = {
        "name": "gov-model",
        "deployments": [deployment],
        "pricing": pricing,
        "endpoints": ["chat", "completions"],
    }
    return {"models": [model]}


def _admin(userorg: str) -> dict[str, str]:
    form = {"username": ADMIN[0], "password": ADMIN[1]}
    answer = httpx.post(f"{userorg}/admin/v1/auth/token", data=form, timeout=10)
    answer.raise_for_status()
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


TEMPLATE = [
    {"role": "system", "content": "You help with {{product}}. Be {{ tone }}."},
    {"role": "user", "content": "I am {{name}}."},
]


def _create(s: Stack, org_id: str, messages: list[Any] = TEMPLATE) -> dict[str, Any]:
    body = {"name": "support", "messages": messages, "description": "support bot"}
    answer = s.admin.post(f"/admin/v1/orgs/{org_id}/prompts", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _audit_actions(s: Stack, org_id: str) -> list[tuple[str, str]]:
    answer = s.admin.get("/admin/v1/audit", params={"org_id": org_id, "limit": 200})
    assert answer.status_code == 200, answer.text
    return [(r["action"], r["outcome"]) for r in answer.json()["data"]]


def test_templates_are_versioned_archived_audited_and_private(stack: Stack) -> None:
    org_id, _ = stack.org("tpl")
    other_id, _ = stack.org("tpl-other")
    created = _create(stack, org_id)
    assert created["version"] == 1 and created["variables"] == ["product", "tone", "name"]
    base = f"/admin/v1/orgs/{org_id}/prompts/{created['id']}"

    bad = stack.admin.post(
        f"/admin/v1/orgs/{org_id}/prompts",
        json={"name": "bad", "messages": [{"role": "user", "content": "Hi {{1name}}"}]},
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "messages", bad.text
    unclosed = stack.admin.put(base, json={"messages": [{"role": "user", "content": "{{name"}]})
    assert unclosed.status_code == 400, unclosed.text

    second = stack.admin.put(base, json={"messages": [{"role": "user", "content": "v2 {{x}}"}]})
    assert second.status_code == 200 and second.json()["version"] == 2, second.text
    assert stack.admin.get(base).json()["messages"][0]["content"] == "v2 {{x}}"
    first = stack.admin.get(base, params={"version": 1}).json()
    assert first["version"] == 1 and first["latest_version"] == 2
    assert first["messages"] == TEMPLATE
    assert stack.admin.get(base, params={"version": 9}).status_code == 404
    versions = stack.admin.get(f"{base}/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    listed = stack.admin.get(f"/admin/v1/orgs/{org_id}/prompts").json()["data"]
    assert [p["id"] for p in listed] == [created["id"]]

    elsewhere = f"/admin/v1/orgs/{other_id}/prompts/{created['id']}"
    for method in ("GET", "PUT", "DELETE"):
        body = {"messages": TEMPLATE} if method == "PUT" else None
        answer = stack.admin.request(method, elsewhere, json=body)
        assert answer.status_code == 404, (method, answer.text)

    assert stack.admin.delete(base).status_code == 204
    assert stack.admin.get(f"/admin/v1/orgs/{org_id}/prompts").json()["data"] == []
    assert stack.admin.get(base).json()["archived_at"] is not None
    assert stack.admin.put(base, json={"messages": TEMPLATE}).status_code == 409

    actions = _audit_actions(stack, org_id)
    for action in ("prompt.create", "prompt.update", "prompt.archive"):
        assert (action, "success") in actions, actions
    assert any(a == "prompt.create" and o.startswith("failure") for a, o in actions)


def test_the_router_renders_the_template_before_the_request_messages(stack: Stack) -> None:
    org_id, client = stack.org("render")
    other_id, other_client = stack.org("render-other")
    created = _create(stack, org_id)
    variables = {"product": "AISTRALE", "tone": "brief", "name": "Ada {{not_a_var}}"}
    own: list[Any] = [{"role": "user", "content": "How do I rotate a key?"}]
    sent = stack.sent(client, own, prompt={"id": created["id"], "variables": variables})
    assert "prompt" not in sent
    assert sent["messages"] == [
        {"role": "system", "content": "You help with AISTRALE. Be brief."},
        {"role": "user", "content": "I am Ada {{not_a_var}}."},
        *own,
    ]

    with pytest.raises(openai.BadRequestError) as missing:
        client.chat.completions.create(
            model="gov-model",
            messages=own,
            extra_body={"prompt": {"id": created["id"], "variables": {"product": "x"}}},
        )
    error = missing.value.body
    assert isinstance(error, dict) and error["param"] == "prompt.variables"
    assert "'tone'" in error["message"] and "'name'" in error["message"]

    for ref in ({"id": created["id"], "version": 7}, {"id": secrets.token_hex(8)}):
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(
                model="gov-model", messages=own, extra_body={"prompt": ref}
            )
    with pytest.raises(openai.NotFoundError):  # another org's template
        other_client.chat.completions.create(
            model="gov-model",
            messages=own,
            extra_body={"prompt": {"id": created["id"], "variables": variables}},
        )
    assert other_id != org_id


def test_a_new_version_reaches_the_router_through_the_control_event(stack: Stack) -> None:
    org_id, client = stack.org("live")
    created = _create(stack, org_id, [{"role": "system", "content": "version one"}])
    ref = {"id": created["id"]}
    own: list[Any] = [{"role": "user", "content": "hi"}]
    assert stack.sent(client, own, prompt=ref)["messages"][0]["content"] == "version one"
    pinned = {**ref, "version": 1}

    base = f"/admin/v1/orgs/{org_id}/prompts/{created['id']}"
    update = {"messages": [{"role": "system", "content": "version two"}]}
    assert stack.admin.put(base, json=update).status_code == 200
    changed_at = time.monotonic()
    while stack.sent(client, own, prompt=ref)["messages"][0]["content"] != "version two":
        # The cache TTL is 60 s: only the control event can make this pass in time.
        assert time.monotonic() - changed_at < 5.0, "the new version never reached the router"
        time.sleep(0.05)
    assert stack.sent(client, own, prompt=pinned)["messages"][0]["content"] == "version one"

    assert stack.admin.delete(base).status_code == 204
    archived_at = time.monotonic()
    while True:
        try:
            stack.sent(client, own, prompt=ref)
        except openai.NotFoundError:
            break
        assert time.monotonic() - archived_at < 5.0, "the archived template stayed usable"
        time.sleep(0.05)


# Each entity, in text the upstream must see redacted.
ENTITIES = {
    "EMAIL_ADDRESS": "write to jane.doe@example.com today",
    "CREDIT_CARD": "my card is 4111 1111 1111 1111 thanks",
    "PHONE_NUMBER": "call me on (415) 555-0132 tonight",
    "IBAN_CODE": "pay to DE89 3704 0044 0532 0130 00 please",
    "IP_ADDRESS": "the server is 192.168.10.20 now",
    "US_SSN": "my ssn is 123-45-6789 ok",
}
NOT_PII = "order 4111 1111 1111 1112 and build 1.2.3 on 2024-01-15, IBAN DE89370400440532013001"


def _guardrails(s: Stack, org_id: str, **pii: Any) -> None:
    answer = s.admin.put(f"/admin/v1/orgs/{org_id}/guardrails", json={"pii": pii})
    assert answer.status_code == 200, answer.text


def _detections(s: Stack, entity: str, action: str) -> float:
    text = httpx.get(f"{s.router}/metrics", timeout=5).text
    line = f'aistrale_pii_detections_total{{action="{action}",entity="{entity}"}}'
    values = [float(x.split()[-1]) for x in text.splitlines() if x.startswith(line)]
    return values[0] if values else 0.0


def _until_applied(s: Stack, client: openai.OpenAI, check: Callable[[], bool]) -> None:
    """Guardrails set a moment ago: the router learns of them through a control event."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < 5.0, "the guardrails never reached the router"
        time.sleep(0.05)


def test_redact_replaces_each_entity_before_the_upstream(stack: Stack) -> None:
    org_id, client = stack.org("redact")
    plain = [{"role": "user", "content": ENTITIES["EMAIL_ADDRESS"]}]
    assert stack.sent(client, plain)["messages"] == plain  # off until set
    before = {e: _detections(stack, e, "redact") for e in ENTITIES}
    _guardrails(stack, org_id, action="redact")
    shown = stack.admin.get(f"/admin/v1/orgs/{org_id}/guardrails").json()
    assert shown["pii"]["action"] == "redact" and "US_SSN" in shown["pii"]["entities"]
    _until_applied(
        stack, client, lambda: "<EMAIL_ADDRESS>" in str(stack.sent(client, plain)["messages"])
    )

    for entity, text in ENTITIES.items():
        sent = stack.sent(client, [{"role": "user", "content": text}])["messages"][0]["content"]
        assert f"<{entity}>" in sent and sent.count("<") == 1, (entity, sent)
        assert _detections(stack, entity, "redact") > before[entity]
    untouched = [{"role": "user", "content": NOT_PII}]
    assert stack.sent(client, untouched)["messages"] == untouched

    # Split across messages, and one number across two text parts of one message.
    split = [
        {"role": "system", "content": "the admin is root@example.net"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "card 4111 1111 "},
                {"type": "text", "text": "1111 1111 and ip 10.0.0.1"},
            ],
        },
    ]
    sent = stack.sent(client, split)["messages"]
    assert sent[0]["content"] == "the admin is <EMAIL_ADDRESS>"
    parts = "".join(p["text"] for p in sent[1]["content"])
    assert parts == "card <CREDIT_CARD> and ip <IP_ADDRESS>", parts
    assert ("guardrails.set", "success") in _audit_actions(stack, org_id)

    count = len(stack.upstream.bodies)
    client.completions.create(model="gov-model", prompt=["ssn 123-45-6789", "fine"])
    assert len(stack.upstream.bodies) == count + 1
    assert stack.upstream.bodies[-1]["prompt"] == ["ssn <US_SSN>", "fine"]


def test_block_refuses_naming_types_never_values(stack: Stack) -> None:
    org_id, client = stack.org("block")
    _guardrails(stack, org_id, action="block", entities=["CREDIT_CARD", "US_SSN"])
    secret = "4111 1111 1111 1111"
    messages = [
        {"role": "user", "content": f"pay with {secret}"},
        {"role": "user", "content": "and my ssn is 123-45-6789, mail a@b.io"},
    ]

    def refused() -> bool:
        try:
            stack.sent(client, messages)
        except openai.BadRequestError as exc:
            body = exc.body
            assert isinstance(body, dict) and body["code"] == "pii_detected"
            assert "CREDIT_CARD" in body["message"] and "US_SSN" in body["message"]
            assert "EMAIL_ADDRESS" not in body["message"]  # not asked for
            assert secret not in exc.response.text and "6789" not in exc.response.text
            return True
        return False

    _until_applied(stack, client, refused)
    after_block = len(stack.upstream.bodies)
    assert refused() and len(stack.upstream.bodies) == after_block  # nothing went upstream
    assert _detections(stack, "CREDIT_CARD", "block") >= 1
    clean = [{"role": "user", "content": "mail a@b.io"}]
    assert stack.sent(client, clean)["messages"] == clean


def test_outputs_are_redacted_when_asked(stack: Stack) -> None:
    org_id, client = stack.org("outputs")
    ask: list[Any] = [{"role": "user", "content": "LEAK please"}]

    def answer() -> str:
        reply = client.chat.completions.create(model="gov-model", messages=ask)
        return reply.choices[0].message.content or ""

    assert answer() == LEAK
    _guardrails(stack, org_id, action="redact", outputs=True)
    _until_applied(stack, client, lambda: answer() != LEAK)
    assert answer() == "Write me to <EMAIL_ADDRESS> or call <PHONE_NUMBER>."
    _guardrails(stack, org_id, action="redact", outputs=False)
    _until_applied(stack, client, lambda: answer() == LEAK)


def test_responses_requests_are_governed_as_chat_is(stack: Stack) -> None:
    """/v1/responses is translated into a chat body first: the same guardrails apply."""
    org_id, client = stack.org("responses")
    _guardrails(stack, org_id, action="redact")

    def redacted() -> bool:
        client.responses.create(model="gov-model", input=ENTITIES["EMAIL_ADDRESS"], store=False)
        return "<EMAIL_ADDRESS>" in str(stack.upstream.bodies[-1]["messages"])

    _until_applied(stack, client, redacted)
    _guardrails(stack, org_id, action="block", entities=["US_SSN"])

    def refused() -> bool:
        try:
            client.responses.create(model="gov-model", input="my ssn is 123-45-6789")
        except openai.BadRequestError as exc:
            assert isinstance(exc.body, dict) and exc.body["code"] == "pii_detected"
            return True
        return False

    _until_applied(stack, client, refused)
