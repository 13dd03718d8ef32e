"""The hot path (DESIGN.md steps 1-5) without HTTP: authenticate, admit, route, forward, meter.

`handle` returns either a complete upstream answer or a stream whose `finish` the HTTP layer
calls once the client has it all, or has gone away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson

from aistrale_common.errors import (
    AistraleError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    UpstreamFailed,
    UpstreamTimeout,
)
from aistrale_router.admission.port import AdmissionRequest, ManagedGatekeeper
from aistrale_router.catalog.schema import ModelEntry
from aistrale_router.catalog.store import CatalogStore
from aistrale_router.gateway.answer import available_models, echo_answer, fit_context
from aistrale_router.gateway.cutoff import SHUTTING_DOWN, Cutoff
from aistrale_router.gateway.metering import (
    CLIENT_CLOSED,
    Meter,
    Metering,
    Tokens,
    tokens_from_usage,
)
from aistrale_router.gateway.prepare import BoundRequest, RequestPreparer, provider_target
from aistrale_router.gateway.request import (
    MAX_CHOICES,
    Endpoint,
    estimate_prompt_tokens,
    parse_request,
    unparsed_request,
)
from aistrale_router.keys.record import KeyRecord
from aistrale_router.keys.resolver import KeyResolver
from aistrale_router.keys.signatures import SignatureCheck, SignedParts
from aistrale_router.providers.base import ProviderAdapter
from aistrale_router.routing.picker import DeploymentPicker
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.text.special_tokens import clean_chunk
from aistrale_router.upstream.adapted_relay import AdaptedRelay
from aistrale_router.upstream.client import UpstreamBroken, UpstreamTimedOut
from aistrale_router.upstream.forward import AttemptsFailed, Forwarder, Opened
from aistrale_router.upstream.relay import StreamRelay

JSON = "application/json"
_CLIENT_GONE = (CLIENT_CLOSED, "client_disconnected")


@dataclass(slots=True)
class Complete:
    status: int
    body: bytes
    headers: dict[str, str]
    # Metering, run by the caller just before the answer leaves, whatever happens to the
    # send: the usage event is in the journal before the client can have the answer, so a
    # router killed right after sending it loses nothing (metering/journal.py).
    meter: Callable[[], None] | None = None


@dataclass(slots=True)
class Streaming:
    headers: dict[str, str]
    chunks: AsyncIterator[bytes]
    gateway: Gateway
    meter: Meter
    opened: Opened
    relay: StreamRelay

    def answered(self) -> None:
        """The relay holds the stream's last event: metered now, before it leaves."""
        self.gateway.meter_stream(self, client_gone=False, cut=False)

    async def finish(self, *, client_gone: bool, cut: bool = False) -> None:
        await self.gateway.finish_stream(self, client_gone=client_gone, cut=cut)


class Gateway:
    def __init__(
        self,
        *,
        keys: KeyResolver,
        catalog: CatalogStore,
        picker: DeploymentPicker,
        forwarder: Forwarder,
        gatekeeper: ManagedGatekeeper,
        metering: Metering,
        preparer: RequestPreparer,
        cutoff: Cutoff | None = None,
        max_choices: int = MAX_CHOICES,
        signatures: SignatureCheck | None = None,
    ) -> None:
        self.max_choices = max_choices
        self.signatures = signatures
        self.preparer = preparer
        self.cutoff = cutoff or Cutoff(grace_s=0.0)  # never begun unless the server drains
        self.keys = keys
        self.catalog = catalog
        self.picker = picker
        self.forwarder = forwarder
        self.gatekeeper = gatekeeper
        self.metering = metering

    @property
    def states(self) -> DeploymentStates:
        return self.picker.states

    async def list_models(self, authorization: str | None) -> dict[str, Any]:
        key = await self.keys.authenticate(authorization)
        data = [
            _model_card(m, self._ready(m))
            for m in self.catalog.catalog.models
            if _allowed(key, m.name)
        ]
        return {"object": "list", "data": data}

    def _ready(self, model: ModelEntry) -> bool:
        return any(self.states.get(d.id).healthy is not False for d in model.deployments)

    async def handle(
        self,
        endpoint: Endpoint,
        raw: bytes,
        authorization: str | None,
        request_id: str,
        signed: SignedParts | None = None,
    ) -> Complete | Streaming:
        """Every request whose key is authenticated gets exactly one usage event, whatever
        refuses it after that (body, model, admission, upstream, shutdown); one refused
        before its key is known gets none, and is counted in the metrics only
        (docs/decisions/router-refusal-metering.md)."""
        started = time.perf_counter()
        try:
            key = await self.keys.authenticate(authorization)
            if self.signatures is not None:
                await self.signatures.verify(key, signed, raw)
        except Exception as exc:
            self.metering.unmetered(endpoint, _status(exc), started)
            raise
        try:
            request = parse_request(raw, endpoint, self.max_choices)
        except Exception as exc:
            refused = self.metering.start(key, unparsed_request(raw, endpoint), request_id, started)
            self.metering.finish(refused, _status(exc), _error_type(exc), None)
            raise
        meter = self.metering.start(key, request, request_id, started)
        try:
            return await self._forward(meter, endpoint)
        except asyncio.CancelledError:
            # The client went away (the front door cancels us), or the shutdown cutoff
            # passed: the cancellation closes the upstream connection; the prompt was sent.
            gone = Tokens(prompt=request.prompt_estimate, estimated=True)
            status, why = (503, SHUTTING_DOWN) if self.cutoff.passed else _CLIENT_GONE
            self.metering.finish(meter, status, why, gone)
            raise
        except Exception as exc:  # a bug still costs the caller a request: meter it, then 500
            self.metering.finish(meter, _status(exc), _error_type(exc), None)
            raise

    async def _forward(self, meter: Meter, endpoint: Endpoint) -> Complete | Streaming:
        request, catalog = meter.request, self.catalog.catalog
        model = self._model(meter.key, request.model, endpoint)
        meter.admission = admission = await self.gatekeeper.admit(
            AdmissionRequest(
                meter.key, model, request.prompt_estimate, request.max_tokens, request.choices
            )
        )
        targets = self.picker.plan(catalog, model, endpoint)
        keys = await self.preparer.keys_for(meter.key.org_id, targets)
        try:
            max_tokens = fit_context(admission.max_tokens, request, model)
            bound = BoundRequest(self.preparer, request, max_tokens, keys)
            opened = await self.forwarder.open(targets, bound, meter.request_id)
        except AttemptsFailed as failed:
            meter.attempts, meter.target = failed.attempts, failed.target
            failed.error.headers = {**admission.headers, **failed.error.headers}
            raise failed.error from None
        meter.attempts, meter.target = opened.attempts, opened.target
        headers = dict(admission.headers)
        if request.stream:
            if "text/event-stream" not in opened.response.headers.get("content-type", ""):
                # A server that answers a streamed request with one JSON body: not a stream.
                await opened.response.close()
                self.forwarder.finished(opened, ok=False)
                raise UpstreamFailed("Upstream answered a streamed request without a stream.")
            return self._stream(meter, opened, headers)
        return await self._complete(meter, opened, headers)

    def _model(self, key: KeyRecord, name: str, endpoint: Endpoint) -> ModelEntry:
        model = self.catalog.catalog.get(name)
        if model is None:
            raise NotFound(
                f"The model `{name}` does not exist or you do not have access to it. "
                + available_models(self.catalog.catalog, key.allowed_models),
                param="model",
                code="model_not_found",
            )
        if not _allowed(key, name):
            raise PermissionDenied(
                f"This API key is not allowed to use the model `{name}`.",
                param="model",
                code="model_not_allowed",
            )
        if endpoint not in model.endpoints:
            raise InvalidRequest(f"The model `{name}` does not support /{endpoint}.", param="model")
        return model

    async def _complete(self, meter: Meter, opened: Opened, headers: dict[str, str]) -> Complete:
        try:
            body = await opened.response.read()
        except UpstreamTimedOut:
            self.forwarder.finished(opened, ok=False)
            raise UpstreamTimeout("The model stopped sending mid-answer.") from None
        except UpstreamBroken:
            self.forwarder.finished(opened, ok=False)
            raise UpstreamFailed("The model's server broke off its answer.") from None
        finally:
            await opened.response.close()
        meter.first_byte_at = time.perf_counter()
        self.forwarder.finished(opened, ok=True)
        adapter = self.preparer.adapter(opened.target)
        if adapter is not None:
            translated = self._translated(adapter, opened, meter, body)
            if "model" in translated:
                translated["model"] = meter.request.model  # the catalog name, not upstream's
            body = orjson.dumps(translated)
            headers["content-type"] = "application/json"
        else:
            body = echo_answer(body, meter.request.model, opened.target.deployment)
            headers["content-type"] = opened.response.headers.get("content-type", JSON)
        status = opened.response.status
        return Complete(status, body, headers, partial(self._meter_complete, meter, status, body))

    def _meter_complete(self, meter: Meter, status: int, body: bytes) -> None:
        self.metering.finish(meter, status, None, _tokens_of_body(body, meter))

    def _translated(
        self, adapter: ProviderAdapter, opened: Opened, meter: Meter, body: bytes
    ) -> dict[str, Any]:
        target = provider_target(opened.target)
        if meter.request.endpoint == "embeddings":
            encoding = meter.request.body.get("encoding_format")
            return adapter.embeddings_response(body, target, encoding)
        return adapter.chat_response(body, target, meter.request_id)

    def _stream(self, meter: Meter, opened: Opened, headers: dict[str, str]) -> Streaming:
        admission, prompt = meter.admission, meter.request.prompt_estimate

        async def budget(completion_tokens: int) -> bool:
            if admission is None:
                return True
            return await self.gatekeeper.check_stream(admission, prompt, completion_tokens)

        hide, name = not meter.request.wants_usage, meter.request.model
        deployment = opened.target.deployment
        adapter = self.preparer.adapter(opened.target)
        relay = (
            StreamRelay(
                opened.response,
                hide_usage=hide,
                budget=budget,
                model=name,
                clean=clean_chunk if deployment.engine == "llama.cpp" else None,
            )
            if adapter is None
            else AdaptedRelay(
                opened.response,
                adapter.stream_translator(provider_target(opened.target), meter.request_id, name),
                hide_usage=hide,
                budget=budget,
                model=name,
            )
        )
        headers.update({"content-type": "text/event-stream", "cache-control": "no-cache"})
        return Streaming(headers, aiter(relay), self, meter, opened, relay)

    async def finish_stream(self, stream: Streaming, *, client_gone: bool, cut: bool) -> None:
        relay = stream.relay
        try:
            await stream.opened.response.close()  # stops upstream generating if still running
        finally:
            self.forwarder.finished(stream.opened, ok=relay.error is None)
            self.meter_stream(stream, client_gone=client_gone, cut=cut)

    def meter_stream(self, stream: Streaming, *, client_gone: bool, cut: bool) -> None:
        """Once per stream (Metering.finish ignores a second call)."""
        relay, meter = stream.relay, stream.meter
        meter.first_byte_at = relay.first_chunk_at
        tokens = tokens_from_usage(relay.usage) or Tokens(
            prompt=meter.request.prompt_estimate, completion=relay.token_chunks, estimated=True
        )
        status, why = self._stream_outcome(relay, client_gone=client_gone, cut=cut)
        self.metering.finish(meter, status, why, tokens)

    def _stream_outcome(
        self, relay: StreamRelay, *, client_gone: bool, cut: bool
    ) -> tuple[int, str | None]:
        if relay.completed or relay.finished:
            return 200, None
        if cut:
            return 503, SHUTTING_DOWN
        if client_gone:
            return _CLIENT_GONE
        if relay.error is not None:
            return relay.error.status, relay.error.instance_code
        # Neither ended nor failed: the relay was cancelled (the server's own graceful
        # timeout) or could not send; it did not give the client the whole answer.
        return (503, SHUTTING_DOWN) if self.cutoff.passed else (500, "stream_interrupted")


def _status(exc: Exception) -> int:
    return exc.status if isinstance(exc, AistraleError) else 500


def _error_type(exc: Exception) -> str:
    if isinstance(exc, AistraleError):
        return exc.instance_code or exc.type
    return "internal_error"


def _allowed(key: KeyRecord, model: str) -> bool:
    return key.allowed_models is None or model in key.allowed_models


def _tokens_of_body(body: bytes, meter: Meter) -> Tokens:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    usage = parsed.get("usage") if isinstance(parsed, dict) else None
    found = tokens_from_usage(usage)
    if found is not None:
        return found
    choices = parsed.get("choices") if isinstance(parsed, dict) else None
    completion = estimate_prompt_tokens(choices) if choices else 0  # same chars/4 rule
    return Tokens(prompt=meter.request.prompt_estimate, completion=completion, estimated=True)


def _model_card(model: ModelEntry, ready: bool) -> dict[str, Any]:
    return {
        "id": model.name,
        "object": "model",
        "created": 0,
        "owned_by": "aistrale",
        "ready": ready,
    }
