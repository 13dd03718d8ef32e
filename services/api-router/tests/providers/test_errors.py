"""Provider failures mapped once (providers/errors.py), checked with the recorded bodies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from aistrale_common.errors import (
    AistraleError,
    InvalidRequest,
    RateLimited,
    ServiceUnavailable,
    UpstreamFailed,
    UpstreamTimeout,
)
from aistrale_common.providers import ProviderName
from aistrale_router.catalog.store import read_catalog
from aistrale_router.providers import UnknownProvider, default_registry

CASES = [
    # provider, status, fixture, headers, error type, code, Retry-After
    ("anthropic", 429, "anthropic/error_rate_limit.json", {"retry-after": "12"},
     RateLimited, "rate_limit_exceeded", "12"),
    ("anthropic", 401, "anthropic/error_authentication.json", {},
     UpstreamFailed, "invalid_provider_credentials", None),
    ("anthropic", 400, "anthropic/error_prompt_too_long.json", {},
     InvalidRequest, "context_length_exceeded", None),
    ("anthropic", 529, "anthropic/error_overloaded.json", {},
     ServiceUnavailable, "service_unavailable", "1"),
    ("gemini", 429, "gemini/error_rate_limit.json", {},
     RateLimited, "rate_limit_exceeded", "37"),
    ("gemini", 400, "gemini/error_api_key_invalid.json", {},
     UpstreamFailed, "invalid_provider_credentials", None),
    ("gemini", 400, "gemini/error_context_too_long.json", {},
     InvalidRequest, "context_length_exceeded", None),
    ("gemini", 503, "gemini/error_overloaded.json", {},
     ServiceUnavailable, "service_unavailable", "1"),
    ("gemini", 504, "gemini/error_deadline.json", {},
     UpstreamTimeout, "upstream_timeout", None),
    ("openai", 400, "openai/error_context_length.json", {},
     InvalidRequest, "context_length_exceeded", None),
    ("openai", 401, "openai/error_invalid_key.json", {},
     UpstreamFailed, "invalid_provider_credentials", None),
    ("openai", 429, "openai/error_insufficient_quota.json", {},
     UpstreamFailed, "upstream_quota", None),
    ("openai", 429, "openai/error_rate_limit.json", {"x-ratelimit-reset-requests": "120ms"},
     RateLimited, "rate_limit_exceeded", "1"),
    ("groq", 429, "groq/error_rate_limit.json", {"retry-after": "2"},
     RateLimited, "rate_limit_exceeded", "2"),
    ("groq", 401, "groq/error_invalid_key.json", {},
     UpstreamFailed, "invalid_provider_credentials", None),
    ("huggingface", 422, "huggingface/tgi_error_validation.json", {},
     InvalidRequest, "context_length_exceeded", None),
    ("huggingface", 429, "huggingface/tgi_error_overloaded.json", {},
     ServiceUnavailable, "service_unavailable", "1"),
    ("huggingface", 401, "huggingface/router_error_auth.json", {},
     UpstreamFailed, "invalid_provider_credentials", None),
    # Self-hosted OpenAI-format servers go through the same map (vLLM's error shape).
    ("vllm", 400, "vllm/error_context_length.json", {},
     InvalidRequest, "context_length_exceeded", None),
    ("vllm", 503, "vllm/error_overloaded.json", {"retry-after": "5"},
     ServiceUnavailable, "service_unavailable", "5"),
    ("openai-compatible", 504, "vllm/error_overloaded.json", {},
     UpstreamTimeout, "upstream_timeout", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("provider", "status", "fixture", "headers", "kind", "code", "retry_after"), CASES
)
def test_mapping(
    provider: str,
    status: int,
    fixture: str,
    headers: dict[str, str],
    kind: type[AistraleError],
    code: str,
    retry_after: str | None,
    raw: Callable[[str], bytes],
) -> None:
    adapter = default_registry().get(provider)
    error = adapter.error(status, raw(fixture), headers)
    assert type(error) is kind
    assert error.instance_code == code
    assert error.headers.get("Retry-After") == retry_after
    assert error.body()["error"]["message"]


def test_credentials_error_never_echoes_the_provider_message(raw: Callable[[str], bytes]) -> None:
    adapter = default_registry().get("openai")
    error = adapter.error(401, raw("openai/error_invalid_key.json"), {})
    assert "sk-proj" not in error.message and "openai" in error.message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After-Ms": "1500"}, "2"),
        ({"x-ratelimit-reset-tokens": "6m0s"}, "360"),
        ({"x-ratelimit-reset-requests": "1h2m3.5s"}, "3724"),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, "1"),
    ],
)
def test_retry_after_sources(headers: dict[str, str], expected: str) -> None:
    adapter = default_registry().get("groq")
    error = adapter.error(429, b'{"error":{"message":"slow down"}}', headers)
    assert isinstance(error, RateLimited) and error.headers["Retry-After"] == expected


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (500, b"<html>Internal Server Error</html>", UpstreamFailed),
        (404, b'{"type":"error","error":{"type":"not_found_error","message":"model: x"}}',
         UpstreamFailed),
        (400, b'{"error":{"message":"temperature must be <= 2","type":"invalid_request_error"}}',
         InvalidRequest),
        (408, b"", UpstreamTimeout),
    ],
)  # fmt: skip
def test_other_statuses(status: int, body: bytes, kind: type[AistraleError]) -> None:
    adapter = default_registry().get("anthropic")
    error = adapter.error(status, body, {})
    assert type(error) is kind and error.instance_code != "context_length_exceeded"


@pytest.mark.parametrize("provider", ["openai", "groq", "huggingface", "anthropic", "gemini"])
@pytest.mark.parametrize("body", [b"<html>502 Bad Gateway</html>", b"[1, 2]", b'{"x": 1}'])
def test_a_garbled_success_body_is_an_upstream_failure(provider: str, body: bytes) -> None:
    from aistrale_router.providers import ProviderTarget

    adapter = default_registry().translator(provider)
    target = ProviderTarget("http://upstream", "m", None)
    with pytest.raises(UpstreamFailed):
        adapter.chat_response(body, target, "r")


def test_every_catalog_provider_has_an_adapter() -> None:
    registry = default_registry()
    for name in get_args(ProviderName):
        assert registry.get(name).name == name
    with pytest.raises(UnknownProvider, match=r"'nope'.*known: anthropic"):
        registry.get("nope")


def test_an_unknown_provider_in_the_catalog_fails_when_it_loads(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(
        "models:\n  - name: m\n    deployments:\n"
        "      - {provider: nope, base_url: 'http://x/v1', model: m}\n"
    )
    with pytest.raises(ValidationError, match="provider") as raised:
        read_catalog(models)
    assert "nope" in str(raised.value) and "openai-compatible" in str(raised.value)


def test_an_openai_shaped_400_keeps_its_param_on_every_path() -> None:
    body = (
        b'{"error":{"message":"bad temperature","type":"invalid_request_error",'
        b'"param":"temperature","code":null}}'
    )
    for provider in ("vllm", "openai"):
        error = default_registry().get(provider).error(400, body, {})
        assert isinstance(error, InvalidRequest) and error.param == "temperature"
