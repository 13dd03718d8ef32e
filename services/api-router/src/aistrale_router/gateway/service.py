"""The hot path (DESIGN.md steps 1-5) without HTTP: authenticate, admit, route, forward, meter.

`handle` returns either a complete upstream answer or a stream whose `finish` the HTTP layer
calls once the client has it all, or has gone away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import orjson

from aistrale_common.errors import (
    AistraleError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    UpstreamFailed,
    UpstreamTimeout,
)
from aistrale_common.logging import get_logger
from aistrale_router.admission.port import AdmissionRequest, ManagedGatekeeper
from aistrale_router.answer_cache import CACHE_HEADER, AnswerCache, CachedAnswer
from aistrale_router.catalog.schema import ModelEntry
from aistrale_router.catalog.store import CatalogStore
from aistrale_router.gateway import model_cards
from aistrale_router.gateway.answer import available_models, fit_context
from aistrale_router.gateway.cached import CachePlan, GatewayCache
from aistrale_router.gateway.cutoff import SHUTTING_DOWN, Cutoff
from aistrale_router.gateway.first_event import first_event, prepended
from aistrale_router.gateway.metering import (
    NO_USAGE,
    Meter,
    Metering,
)
from aistrale_router.gateway.prepare import BoundRequest, RequestPreparer, provider_target
from aistrale_router.gateway.request import (
    MAX_CHOICES,
    ClientRequest,
    Endpoint,
    parse_request,
    translated_request,
    unparsed_request,
)
from aistrale_router.gateway.stream_end import CLIENT_GONE, StreamCompletion, StreamEnd
from aistrale_router.governance.chat import AnswerFilter, Governance, Governed
from aistrale_router.keys.record import KeyRecord
from aistrale_router.keys.resolver import KeyResolver
from aistrale_router.keys.signatures import SignatureCheck, SignedParts
from aistrale_router.metering.bodies import captured
from aistrale_router.protocols.base import InboundProtocol
from aistrale_router.providers.base import NativeBody
from aistrale_router.queueing import QueueGate, queue_place
from aistrale_router.routing import residency
from aistrale_router.routing.affinity.material import affinity_key
from aistrale_router.routing.experiments import Assignment, assign
from aistrale_router.routing.forward import AttemptsFailed, Forwarder, Opened
from aistrale_router.routing.picker import DeploymentPicker, Target
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.streaming.relay import StreamRelay
from aistrale_router.usage import Usage

log = get_logger(__name__)


@dataclass(slots=True)
class Complete:
    status: int
    body: bytes
    headers: dict[str, str]
    # Metering, run by the caller just before the answer leaves, whatever happens to the
    # send: the usage event is in the journal before the client can have the answer, so a
    # router killed right after sending it loses nothing (metering/journal.py).
    meter: Callable[[], None] | None = None
    # The deployment answered in the request's own protocol (providers/base.py NativeBody):
    # the body is the client's as it is, not a chat completion to translate.
    native: bool = False


@dataclass(slots=True)
class Streaming:
    headers: dict[str, str]
    relay: StreamRelay
    # The stream reports through these, whoever listens: `answered` when the relay holds
    # its last event (metered before it leaves, metering/journal.py), `ended` once when the
    # stream is over, with the HTTP layer's verdict.
    answered: Callable[[], None]
    ended: Callable[[StreamEnd], Awaitable[None]]
    native: bool = False  # the relay's events are in the request's own protocol
    chunks: AsyncIterator[bytes] = field(init=False)
    # What the stream's last event is when the router ends it itself (the shutdown
    # cutoff): an error event in the client's protocol.
    last_words: Callable[[AistraleError], bytes] = field(init=False)

    def __post_init__(self) -> None:
        self.chunks = aiter(self.relay)
        self.last_words = self.relay.error_events


# What governance did to an inbound protocol's request (Gateway._govern_chat).
Touched = Literal["none", "scanned", "changed"]
# The text field of the endpoints whose input is plain text, for the PII guardrails.
TEXT_INPUTS: dict[str, str] = {"completions": "prompt", "embeddings": "input"}


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
        answers: AnswerCache | None = None,
        first_event_timeout_s: float | None = None,
        queue: QueueGate | None = None,
        queue_wait_s: float = 0.0,
        governance: Governance | None = None,
    ) -> None:
        self.governance = governance
        self.queue = queue
        self.queue_wait_s = queue_wait_s
        # None: a stream is handed on as soon as upstream's headers are in (no failover
        # after them); else its first event is awaited this long, and failed over.
        self.first_event_timeout_s = first_event_timeout_s
        self.cache = GatewayCache(answers)
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
        return model_cards.listed(self.catalog.catalog, self.states, key)

    async def retrieve_model(self, authorization: str | None, name: str) -> dict[str, Any]:
        key = await self.keys.authenticate(authorization)
        return model_cards.retrieved(self.catalog.catalog, self.states, key, name)

    async def check_model_call(
        self, authorization: str | None, name: str, signed: SignedParts | None, raw: bytes
    ) -> dict[str, Any]:
        """A POSTed call about a model that reaches no upstream (count_tokens): the key,
        its request signature when the key must sign (as on every POST), and the model's
        card if the key may use it."""
        key = await self.keys.authenticate(authorization)
        if self.signatures is not None:
            await self.signatures.verify(key, signed, raw)
        return model_cards.retrieved(self.catalog.catalog, self.states, key, name)

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
        key = await self._authenticate(endpoint, raw, authorization, signed, started)
        try:
            governed = await self._govern(endpoint, raw, key)
            request = parse_request(governed.raw, endpoint, self.max_choices)
        except Exception as exc:
            refused = self.metering.start(key, unparsed_request(raw, endpoint), request_id, started)
            self.metering.finish(refused, _status(exc), _error_type(exc), None)
            raise
        meter = self.metering.start(key, request, request_id, started)
        return await self._run(meter, governed.answer)

    async def handle_inbound(
        self,
        protocol: InboundProtocol,
        raw: bytes,
        authorization: str | None,
        request_id: str,
        signed: SignedParts | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Complete | Streaming:
        """A request in another protocol (protocols/base.py): parsed into a chat request,
        served and metered as /v1/chat/completions is (under the protocol's endpoint name),
        its answer or stream translated back, unless the deployment speaks the protocol
        itself (then its answer is the client's as it is). Errors stay AistraleErrors: the
        HTTP layer renders them in the protocol's shape. `headers`: the protocol's own
        request headers (`protocol.forwarded_headers`)."""
        started = time.perf_counter()
        key = await self._authenticate(protocol.name, raw, authorization, signed, started)
        try:
            inbound = await protocol.parse(raw, key, headers or {})
            chat, answer_filter, governed = await self._govern_chat(inbound.chat, key)
            native = _ungoverned_native(inbound.native, governed)
            request = translated_request(chat, protocol.name, self.max_choices, native)
        except Exception as exc:
            unparsed = unparsed_request(raw, "chat", protocol.name)
            refused = self.metering.start(key, unparsed, request_id, started)
            self.metering.finish(refused, _status(exc), _error_type(exc), None)
            raise
        meter = self.metering.start(key, request, request_id, started)
        result = await self._run(meter, answer_filter)
        if result.native:
            return result
        if isinstance(result, Streaming):
            translated = protocol.stream(inbound, result.chunks, request_id)
            result.chunks, result.last_words = aiter(translated), translated.cut
            return result
        try:
            result.body = await protocol.answer(inbound, result.body, request_id)
        except BaseException:
            if result.meter is not None:  # upstream answered and was paid: still metered
                result.meter()
            raise
        return result

    async def _authenticate(
        self,
        endpoint: str,
        raw: bytes,
        authorization: str | None,
        signed: SignedParts | None,
        started: float,
    ) -> KeyRecord:
        try:
            key = await self.keys.authenticate(authorization)
            if self.signatures is not None:
                await self.signatures.verify(key, signed, raw)
        except Exception as exc:
            self.metering.unmetered(endpoint, _status(exc), started)
            raise
        return key

    async def _run(self, meter: Meter, answer_filter: AnswerFilter | None) -> Complete | Streaming:
        request = meter.request
        try:
            return await self._forward(meter, request.endpoint, answer_filter)
        except asyncio.CancelledError:
            # The client went away (the front door cancels us), or the shutdown cutoff
            # passed: the cancellation closes the upstream connection; the prompt was sent.
            gone = Usage(request.prompt_estimate, estimated=True)
            status, why = (503, SHUTTING_DOWN) if self.cutoff.passed else CLIENT_GONE
            self.metering.finish(meter, status, why, gone)
            raise
        except Exception as exc:  # a bug still costs the caller a request: meter it, then 500
            self.metering.finish(meter, _status(exc), _error_type(exc), None)
            raise

    async def _govern_chat(
        self, chat: dict[str, Any], key: KeyRecord
    ) -> tuple[dict[str, Any], AnswerFilter | None, Touched]:
        """An inbound protocol's chat body through the same templates and guardrails, and
        what governance did to it: nothing, scanned its inputs and let them pass (the scan
        sees the chat form), or changed it / filters its answer."""
        if self.governance is None:
            return chat, None, "none"
        raw = orjson.dumps(chat)
        governed = await self.governance.chat(raw, key.org_id)
        if governed.raw is raw and governed.answer is None:
            return chat, None, "scanned" if governed.scanned else "none"
        return orjson.loads(governed.raw), governed.answer, "changed"

    async def _govern(self, endpoint: Endpoint, raw: bytes, key: KeyRecord) -> Governed:
        """Prompt templates (chat) and PII guardrails (every text input; governance/)."""
        if self.governance is None:
            return Governed(raw)
        if endpoint == "chat":
            return await self.governance.chat(raw, key.org_id)
        field = TEXT_INPUTS.get(endpoint)
        if field is None:
            return Governed(raw)
        return await self.governance.text_inputs(raw, key.org_id, field)

    async def _forward(
        self, meter: Meter, endpoint: Endpoint, answer_filter: AnswerFilter | None = None
    ) -> Complete | Streaming:
        request, catalog = meter.request, self.catalog.catalog
        model, meter.assignment = self._model(meter.key, request, endpoint)
        # The catalog's name for what was asked: the model's (an alias's model), or the
        # experiment's (its arm is in `arm`).
        meter.model = meter.assignment.experiment if meter.assignment else model.name
        cache = self.cache.plan(model, meter)
        # A hit is admitted too: it counts against RPM, and its reservation is settled to
        # 0 (docs/decisions/router-answer-cache-budget.md).
        place = queue_place(meter.key, model, self.queue_wait_s)  # key/org, model, router
        admit = partial(
            self.gatekeeper.admit,
            AdmissionRequest(
                meter.key, model, request.prompt_estimate, request.max_tokens, request.choices
            ),
        )
        if self.queue is None:
            meter.admission = admission = await admit()
        else:  # at its RPM, a key may wait for the window (queueing/gate.py)
            meter.admission = admission = await self.queue.retry_rate_limited(
                admit, place.wait_s, place.priority
            )
        hit = await self.cache.lookup(cache, meter)
        if hit is not None:
            return self._from_cache(meter, hit, admission.headers)
        regions = meter.key.allowed_regions
        policy = model.routing
        affinity = (
            None
            if policy.affinity == "none"
            else affinity_key(policy, meter.key.key_id, request.body)
        )
        tags = meter.key.all_tags()
        targets = self.picker.plan(catalog, model, endpoint, regions, affinity=affinity, tags=tags)
        if not targets:
            if regions is not None and not residency.servable(catalog, model, regions):
                raise residency.not_allowed(model.name, regions)
            raise PermissionDenied(  # the pool rules leave this key nothing
                f"This API key may not use any deployment of the model `{request.model}`.",
                param="model",
                code="model_not_allowed",
            )
        if request.native is not None and request.native.only:
            targets = self._native_only(targets, request)
        # The usage event names the planned deployment even if nothing reaches it.
        meter.target = targets[0]
        keys = await self.preparer.keys_for(meter.key.org_id, targets)
        max_tokens = fit_context(admission.max_tokens, request, model)
        bound = BoundRequest(self.preparer, request, max_tokens, keys)
        if self.queue is not None:  # nothing awaited between room found and attempt started
            targets = await self.queue.room(targets, place.wait_s, place.priority)
        opened = await self._open(meter, targets, bound)
        headers = dict(admission.headers)
        if cache is not None:
            headers.update(cache.miss_header)
        if request.stream:
            return await self._first_stream(meter, targets, bound, opened, headers)
        return await self._complete(meter, opened, headers, cache, answer_filter)

    async def _open(self, meter: Meter, targets: list[Target], bound: BoundRequest) -> Opened:
        tried = meter.attempts
        try:
            opened = await self.forwarder.open(targets, bound, meter.request_id)
        except AttemptsFailed as failed:
            meter.sent = bound.last_sent if meter.key.log_bodies else None
            meter.attempts, meter.target = tried + failed.attempts, failed.target
            admitted = meter.admission.headers if meter.admission else {}
            failed.error.headers = {**admitted, **failed.error.headers}
            raise failed.error from None
        meter.attempts, meter.target = tried + opened.attempts, opened.target
        meter.sent = bound.last_sent if meter.key.log_bodies else None
        return opened

    async def _first_stream(
        self,
        meter: Meter,
        targets: list[Target],
        bound: BoundRequest,
        opened: Opened,
        headers: dict[str, str],
    ) -> Streaming:
        """The stream, once its first event is in; a deployment that sent none in time (or
        only an error) is closed and the next one asked: no byte has reached the client."""
        while True:
            if "text/event-stream" not in opened.response.headers.get("content-type", ""):
                # A server that answers a streamed request with one JSON body: not a stream.
                await opened.close(ok=False)
                raise UpstreamFailed("Upstream answered a streamed request without a stream.")
            streaming = self._stream(meter, opened, dict(headers))
            timeout_s = self.first_event_timeout_s
            if timeout_s is None:
                return streaming
            try:
                first = await first_event(streaming.chunks, streaming.relay, timeout_s)
            except asyncio.CancelledError:  # the client left while we waited: upstream stops
                opened.attempt.abandon()
                await opened.response.close()
                raise
            if first is not None:
                streaming.chunks = prepended(first, streaming.chunks)
                return streaming
            await opened.close(ok=False)
            failed = opened.target.deployment.id
            log.info("stream_first_event_missing", deployment=failed)
            targets = [t for t in targets if t.deployment.id != failed]
            if not targets:
                error = streaming.relay.error
                raise error or UpstreamTimeout("The model sent nothing in time.")
            opened = await self._open(meter, targets, bound)

    def _native_only(self, targets: list[Target], request: ClientRequest) -> list[Target]:
        """A request with params that only its protocol's own provider serves (a server
        tool, say) goes to such deployments only: a translation would drop them."""
        kept = [t for t in targets if self.preparer.native(t, request)]
        if not kept:
            assert request.native is not None
            param = request.native.only[0]
            raise InvalidRequest(
                f"`{param}` can be served only by a deployment that speaks this API itself "
                f"(provider `{request.native.provider}`), and the model `{request.model}` "
                "has none.",
                param=param,
            )
        return kept

    def _model(
        self, key: KeyRecord, request: ClientRequest, endpoint: Endpoint
    ) -> tuple[ModelEntry, Assignment | None]:
        """The catalog model that serves the request; for an experiment's name, its arm's
        (routing/experiments.py). A key may use an experiment when it may use its name,
        whatever its arms' models are (docs/decisions/router-experiments.md)."""
        name, catalog = request.model, self.catalog.catalog
        model, assignment = catalog.get(name), None
        if model is None and (experiment := catalog.experiment(name)) is not None:
            assignment = assign(experiment, key.key_id, request.body.get("user"))
            model = catalog.get(assignment.model)
        if model is None:
            raise NotFound(
                f"The model `{name}` does not exist or you do not have access to it. "
                + available_models(self.catalog.catalog, key.allowed_models),
                param="model",
                code="model_not_found",
            )
        if not model_cards.allows(key, model, name, experiment=assignment is not None):
            raise PermissionDenied(
                f"This API key is not allowed to use the model `{name}`.",
                param="model",
                code="model_not_allowed",
            )
        if endpoint not in model.endpoints:
            raise InvalidRequest(f"The model `{name}` does not support /{endpoint}.", param="model")
        return model, assignment

    def _from_cache(self, meter: Meter, hit: CachedAnswer, admitted: dict[str, str]) -> Complete:
        """The kept body as it was (its `id` included: it is that answer); the response's
        own x-request-id is this request's."""
        meter.first_byte_at = time.perf_counter()
        headers = {**admitted, "content-type": hit.content_type, CACHE_HEADER: "hit"}
        if meter.key.log_bodies:
            meter.answer = hit.body  # nothing was sent upstream: `sent` stays None
        meter_it = partial(self.metering.finish, meter, 200, None, NO_USAGE)
        return Complete(200, hit.body, headers, meter_it)

    async def _complete(
        self,
        meter: Meter,
        opened: Opened,
        headers: dict[str, str],
        cache: CachePlan | None,
        answer_filter: AnswerFilter | None = None,
    ) -> Complete:
        body = await opened.read()  # the attempt ends with it, whatever happens
        meter.first_byte_at = time.perf_counter()
        native = self.preparer.native(opened.target, meter.request)
        answer = self.preparer.adapter(opened.target, meter.request).complete(
            body,
            opened.response.headers.get("content-type"),
            meter.request,
            provider_target(opened.target),
            meter.request_id,
        )
        headers["content-type"] = answer.content_type
        status = opened.response.status
        # PII redaction of answers first: the body logged and kept is the one the client gets.
        body = answer_filter(answer.body) if answer_filter and status == 200 else answer.body
        if meter.key.log_bodies:
            meter.answer = body
        if not native:  # the cache keeps chat forms only (docs/router.md "Answer cache")
            kept = (status, body, answer.content_type, answer.usage)
            await self.cache.keep(cache, opened.target, kept, meter)
        meter_it = partial(self.metering.finish, meter, status, None, answer.usage)
        return Complete(status, body, headers, meter_it, native)

    def _stream(self, meter: Meter, opened: Opened, headers: dict[str, str]) -> Streaming:
        admission, prompt = meter.admission, meter.request.prompt_estimate

        async def budget(completion_tokens: int) -> bool:
            if admission is None:
                return True
            return await self.gatekeeper.check_stream(admission, prompt, completion_tokens)

        relay = self.preparer.adapter(opened.target, meter.request).relay(
            opened.response,
            meter.request,
            provider_target(opened.target),
            meter.request_id,
            hide_usage=not meter.request.wants_usage,
            budget=budget,
        )
        headers.update({"content-type": "text/event-stream", "cache-control": "no-cache"})
        completion = StreamCompletion(self.metering, self.cutoff, meter, opened, relay)
        native = self.preparer.native(opened.target, meter.request)
        streaming = Streaming(headers, relay, completion.answered, completion.ended, native)
        if meter.key.log_bodies:
            meter.answer = answer = bytearray()
            streaming.chunks = captured(streaming.chunks, answer)
        return streaming


def _ungoverned_native(native: NativeBody | None, touched: Touched) -> NativeBody | None:
    """The protocol's own body, if governance left the request alone: a template rendered
    or an input redacted exists in the chat form only, and an answer to filter must be one
    (the native body is the client's, ungoverned). Params only the native body holds (a
    document, say) were not in the chat form the guardrails scanned: refused when they
    scan or rewrite."""
    if native is None or touched == "none" or (touched == "scanned" and not native.only):
        return native
    if native.only:
        raise InvalidRequest(
            f"`{native.only[0]}` can be sent only as the client wrote it, and this "
            "organization's prompt templates or guardrails check and rewrite requests.",
            param=native.only[0],
        )
    return None


def _status(exc: Exception) -> int:
    return exc.status if isinstance(exc, AistraleError) else 500


def _error_type(exc: Exception) -> str:
    if isinstance(exc, AistraleError):
        return exc.instance_code or exc.type
    return "internal_error"
