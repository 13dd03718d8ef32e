"""The client's body: parsed once, the few fields the router needs read, the rest untouched.

The upstream body is the client's bytes unless something must change (upstream model name,
`stream_options.include_usage`, a max_tokens cap from the budget); then it is re-encoded
once with orjson.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import orjson

from aistrale_common.errors import InvalidRequest
from aistrale_router.providers.base import PATHS, Endpoint, NativeBody
from aistrale_router.text.prompt_estimate import chat_prompt_tokens, input_tokens
from aistrale_router.usage.estimate import estimate_prompt_tokens
from aistrale_router.validation.depth import check_depth
from aistrale_router.validation.messages import validate_messages

__all__ = [
    "PATHS",
    "ClientRequest",
    "Endpoint",
    "estimate_prompt_tokens",
    "parse_request",
    "translated_request",
    "unparsed_request",
]
_REQUIRED: dict[Endpoint, str] = {
    "chat": "messages",
    "completions": "prompt",
    "embeddings": "input",
}
MAX_CHOICES = 16  # the default of Settings.max_choices


@dataclass(frozen=True, slots=True)
class ClientRequest:
    endpoint: Endpoint
    raw: bytes
    body: dict[str, Any]
    model: str
    stream: bool
    wants_usage: bool  # the client itself asked for stream_options.include_usage
    max_tokens: int | None
    max_tokens_field: str
    prompt_estimate: int  # tokens; an over-estimate rather than an under-estimate
    # Completions upstream generates, each of up to max_tokens: n (or best_of) for every
    # prompt of a /v1/completions batch. Admission reserves all of them.
    choices: int = 1
    # `"cache": false` in the body: not answered from, nor stored in, the exact cache. The
    # field is the router's own and is taken out of `raw` before anything is sent upstream.
    cache_opt_out: bool = False
    # The inbound protocol the client spoke when it was not chat completions itself
    # (`responses`, `messages`: protocols/base.py): the endpoint metered and counted.
    protocol: str | None = None
    # That protocol's own body, for a deployment whose provider speaks it (providers/base.py).
    native: NativeBody | None = None

    @property
    def metered_endpoint(self) -> str:
        return self.protocol or self.endpoint

    def upstream_body(self, upstream_model: str, max_tokens: int | None) -> bytes:
        changes: dict[str, Any] = {}
        if upstream_model != self.model:
            changes["model"] = upstream_model
        if self.stream and not self.wants_usage:
            options = self.body.get("stream_options") or {}
            changes["stream_options"] = {**options, "include_usage": True}
        if max_tokens is not None and max_tokens != self.max_tokens:
            changes[self.max_tokens_field] = max_tokens
        if not changes:
            return self.raw
        return orjson.dumps({**self.body, **changes})


def parse_request(raw: bytes, endpoint: Endpoint, max_choices: int = MAX_CHOICES) -> ClientRequest:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"We could not parse the JSON body of your request: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    check_depth(raw, body)
    return _from_body(raw, body, endpoint, max_choices)


def translated_request(
    chat: dict[str, Any],
    protocol: str,
    max_choices: int = MAX_CHOICES,
    native: NativeBody | None = None,
) -> ClientRequest:
    """The chat body an inbound protocol translated its client's body into, checked as a
    /v1/chat/completions body is. Upstream usage is always asked for in a stream: the
    protocol's own stream reports it."""
    if chat.get("stream") is True:
        chat["stream_options"] = {**(chat.get("stream_options") or {}), "include_usage": True}
    request = _from_body(orjson.dumps(chat), chat, "chat", max_choices)
    return replace(request, protocol=protocol, native=native)


def _from_body(
    raw: bytes, body: dict[str, Any], endpoint: Endpoint, max_choices: int
) -> ClientRequest:
    raw, body, opt_out = _without_cache_field(raw, body)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("You must provide a model parameter.", param="model")
    required = _REQUIRED[endpoint]
    if body.get(required) is None:
        raise InvalidRequest(f"Missing required parameter: '{required}'.", param=required)
    if endpoint == "chat":
        validate_messages(body["messages"])
        estimate = chat_prompt_tokens(body["messages"], body.get("tools"))
    elif body[required] in ([], ""):
        raise InvalidRequest(f"Missing required parameter: '{required}'.", param=required)
    else:
        estimate = input_tokens(body[required])
    stream = _optional_bool(body, "stream")
    field = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
    return ClientRequest(
        endpoint=endpoint,
        raw=raw,
        body=body,
        model=model,
        stream=stream and endpoint != "embeddings",
        wants_usage=_wants_usage(body),
        max_tokens=_max_tokens(body, field),
        max_tokens_field=field,
        prompt_estimate=estimate,
        choices=_choices(body, endpoint, max_choices),
        cache_opt_out=opt_out,
    )


def _without_cache_field(raw: bytes, body: dict[str, Any]) -> tuple[bytes, dict[str, Any], bool]:
    """The body as upstream must see it, and whether the client opted out of the cache.
    Re-encoded only when the client used the field, so the common case keeps its bytes."""
    if "cache" not in body:
        return raw, body, False
    wanted = _optional_bool(body, "cache") if body["cache"] is not None else True
    rest = {k: v for k, v in body.items() if k != "cache"}
    return orjson.dumps(rest), rest, not wanted


def unparsed_request(raw: bytes, endpoint: Endpoint, protocol: str | None = None) -> ClientRequest:
    """A body `parse_request` refused, as its usage event shows it: the model it names, if
    any (the event cuts it to size), and nothing else."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    fields = body if isinstance(body, dict) else {}
    model, stream = fields.get("model"), fields.get("stream")
    return ClientRequest(
        endpoint=endpoint,
        raw=raw,
        body={},
        model=model if isinstance(model, str) else "",
        stream=stream is True and endpoint != "embeddings",
        wants_usage=False,
        max_tokens=None,
        max_tokens_field="max_tokens",
        prompt_estimate=0,
        protocol=protocol,
    )


def _optional_bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidRequest(f"'{name}' must be a boolean.", param=name)
    return value


def _wants_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not isinstance(options, dict):
        raise InvalidRequest("'stream_options' must be an object.", param="stream_options")
    return options.get("include_usage") is True


def _choices(body: dict[str, Any], endpoint: Endpoint, cap: int) -> int:
    if endpoint == "embeddings":
        return 1
    per_prompt = max(_count(body, "n", cap), _count(body, "best_of", cap))
    prompt = body.get("prompt")
    if endpoint == "completions" and isinstance(prompt, list) and not _token_ids(prompt):
        return per_prompt * len(prompt)
    return per_prompt


def _count(body: dict[str, Any], name: str, cap: int) -> int:
    value = body.get(name)
    if value is None:
        return 1
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidRequest(f"'{name}' must be a positive integer.", param=name)
    if value > cap:
        raise InvalidRequest(f"'{name}' must be at most {cap}.", param=name)
    return value


def _token_ids(prompt: list[Any]) -> bool:
    """One prompt given as token ids (a list of ints), not a batch of prompts."""
    return all(isinstance(x, int) and not isinstance(x, bool) for x in prompt)


def _max_tokens(body: dict[str, Any], field: str) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidRequest(f"'{field}' must be a positive integer.", param=field)
    return value
