"""The fuzzing pass: schemathesis over the admin and analytics OpenAPI schemas against the
running processes, and hypothesis-made `/v1/chat/completions` bodies against a router
process. Pass: no 5xx, and no error answer without an error body (tests/security/fuzz.py).
Examples are bounded so the pass takes well under a minute."""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aistrale_router.keys.record import KeyRecord
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.fake_userorg import FakeUserOrg
from aistrale_testkit.router.fake_vllm import FakeVllm
from aistrale_testkit.router.harness import catalog_for, router_process
from aistrale_testkit.router.server import serve_in_thread
from tests.security.fuzz import check_response, verdict
from tests.security.harness import Platform

BOUNDED = settings(
    deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
# Routes that end the caller's own sessions would blind the rest of the pass (their effect
# is tested on purpose in test_access_follows_userorg.py).
SELF_ENDING = r"sign-out|/password$"


def _fuzz_schema(url: str, headers: dict[str, str], examples: int) -> list[str]:
    schema = schemathesis.openapi.from_url(url).exclude(path_regex=SELF_ENDING)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]

        @given(case=operation.as_strategy())
        @settings(BOUNDED, max_examples=examples)
        def keeps_the_rule(case: schemathesis.Case[Any]) -> None:
            for name, value in headers.items():
                case.headers[name] = value
            answer = case.call(timeout=10)
            problem = verdict(answer.status_code, answer.content, f"{case.method} {case.path}")
            assert problem is None, problem

        try:
            keeps_the_rule()
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {exc}"[:1200])
    return failures


# Ids no database should see; random generation rarely makes them (a NUL byte in an id
# answered 500 on Postgres before path ids were validated).
HOSTILE_IDS = ("%00", "a%00b", "%0A", "x" * 300, "%F0%9F%92%A5", "..%2F..", "%25", "'--")


def _hostile_path_ids(base: str, schema_url: str, headers: dict[str, str]) -> list[str]:
    """Every operation with a path parameter, each parameter in turn set to a hostile id."""
    spec = httpx.get(schema_url).json()
    failures: list[str] = []
    for path, operations in spec["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        if re.search(SELF_ENDING, path):
            continue
        for method, name, bad in itertools.product(operations, names, HOSTILE_IDS):
            url = path
            for other in names:
                url = url.replace(f"{{{other}}}", bad if other == name else "x1")
            answer = httpx.request(method, base + url, headers=headers, json={}, timeout=10)
            problem = check_response(answer, f"{method.upper()} {url}")
            if problem is not None:
                failures.append(problem)
    return failures


def test_analytics_api_fuzzed(running: Platform) -> None:
    schema = f"{running.analytics}/analytics/v1/openapi.json"
    failures = _fuzz_schema(schema, running.admin(), examples=15)
    failures += _hostile_path_ids(running.analytics, schema, running.admin())
    assert not failures, "\n\n".join(failures)


def test_admin_api_fuzzed(running: Platform) -> None:
    schema = f"{running.userorg}/admin/v1/openapi.json"
    failures = _fuzz_schema(schema, running.admin(), examples=4)
    failures += _hostile_path_ids(running.userorg, schema, running.admin())
    assert not failures, "\n\n".join(failures)


@pytest.fixture(scope="module")
def router(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("fuzz-router")
    token = secrets.token_urlsafe(24)
    userorg = FakeUserOrg(service_token=token)
    key = "sk-fuzz-" + secrets.token_hex(16)
    record = {"key_id": "key_fuzz", "org_id": "org_fuzz", "status": "active"}
    userorg.add_key(key, KeyRecord.model_validate(record))
    with serve_in_thread(FakeVllm().app) as vllm_url, serve_in_thread(userorg.app) as userorg_url:
        models_file = tmp / "models.yaml"
        models_file.write_text(yaml.safe_dump(catalog_for(vllm_url)))
        with router_process(infra, tmp, userorg_url, token, models_file) as url:
            yield url, key


FLOATS = st.floats(allow_nan=False, allow_infinity=False)  # JSON has no NaN (sent raw below)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | FLOATS | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
CONTENT = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.fixed_dictionaries(
            {"type": st.sampled_from(["text", "image_url", "input_audio", "bogus"])},
            optional={"text": JSON, "image_url": JSON},
        ),
        max_size=3,
    ),
    JSON,
)
MESSAGE = st.one_of(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant", "tool", "developer", "x"])},
        optional={"content": CONTENT, "name": JSON, "tool_call_id": JSON},
    ),
    JSON,
)
BODY = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["chat-model", "no-such-model", ""]) | JSON,
        "messages": st.lists(MESSAGE, max_size=4) | JSON,
        "max_tokens": st.integers(-5, 10**7) | JSON,
        "temperature": FLOATS | JSON,
        "stream": st.booleans() | JSON,
        "n": st.integers(-1, 5),
        "stop": JSON,
        "tools": JSON,
        "stream_options": JSON,
    },
)


def test_chat_completion_bodies_fuzzed(router: tuple[str, str]) -> None:
    url, key = router
    headers = {"authorization": f"Bearer {key}"}
    failures: list[str] = []
    with httpx.Client(base_url=url, headers=headers, timeout=15) as client:

        @given(body=BODY)
        @settings(BOUNDED, max_examples=100)
        def keeps_the_rule(body: dict[str, Any]) -> None:
            response = client.post("/v1/chat/completions", json=body)
            problem = check_response(response, f"body {str(body)[:300]}")
            if problem is not None:
                failures.append(problem)

        keeps_the_rule()
        for raw in (b"{not json", b'{"model": "chat-model", "temperature": NaN}', b"[]", b""):
            problem = check_response(client.post("/v1/chat/completions", content=raw), str(raw))
            if problem is not None:
                failures.append(problem)
    assert not failures, "\n".join(failures[:20])


ITEM = st.one_of(
    MESSAGE,
    st.fixed_dictionaries(
        {"type": st.sampled_from(["function_call", "function_call_output", "reasoning", "x"])},
        optional={"call_id": JSON, "name": JSON, "arguments": JSON, "output": JSON},
    ),
)
RESPONSES_BODY = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["chat-model", "no-such-model", ""]) | JSON,
        "input": st.text(max_size=20) | st.lists(ITEM, max_size=4) | JSON,
        "instructions": JSON,
        "max_output_tokens": st.integers(-5, 10**7) | JSON,
        "temperature": FLOATS | JSON,
        "stream": st.booleans() | JSON,
        "store": st.booleans() | JSON,
        "previous_response_id": st.sampled_from(["resp_" + "0" * 32]) | JSON,
        "tools": JSON,
        "tool_choice": JSON,
        "text": JSON,
    },
)


def test_responses_bodies_fuzzed(router: tuple[str, str]) -> None:
    """/v1/responses: whatever the body, a 2xx or a 4xx in OpenAI's shape, never a 5xx."""
    url, key = router
    headers = {"authorization": f"Bearer {key}"}
    failures: list[str] = []
    with httpx.Client(base_url=url, headers=headers, timeout=15) as client:

        @given(body=RESPONSES_BODY)
        @settings(BOUNDED, max_examples=100)
        def keeps_the_rule(body: dict[str, Any]) -> None:
            response = client.post("/v1/responses", json=body)
            problem = check_response(response, f"body {str(body)[:300]}")
            if problem is not None:
                failures.append(problem)

        keeps_the_rule()
    assert not failures, "\n".join(failures[:20])
