"""One usage event v1 per request, whatever its outcome, and the admission settled.

Both are handed off the critical path: `UsageSink.submit` only queues, and the settlement
runs in a background task the app waits for at shutdown.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aistrale_common.events.schemas import UsageEventV1
from aistrale_common.logging import get_logger
from aistrale_router.admission.port import Admission, Gatekeeper, Settlement
from aistrale_router.catalog.schema import Pricing
from aistrale_router.gateway.metrics import UNKNOWN, GatewayMetrics
from aistrale_router.gateway.request import ClientRequest
from aistrale_router.keys.record import KeyRecord
from aistrale_router.metering.bodies import BodyRecorder
from aistrale_router.metering.sink import UsageSink
from aistrale_router.routing.experiments import Assignment
from aistrale_router.routing.latency import LatencyStats
from aistrale_router.routing.picker import Target
from aistrale_router.usage import Usage
from aistrale_router.usage.pricing import cost_micro_usd

log = get_logger(__name__)
CLIENT_CLOSED = 499  # nginx's convention: the client went away before the response ended
SETTLE_AFTER_S = 0.02
# Shutdown: requests the server cancelled (past its graceful timeout) still run their
# cleanup, which emits their event; the publisher stops only after that, or after this.
DRAIN_WAIT_S = 3.0
NO_USAGE = Usage()  # a request refused before upstream: nothing used


@dataclass(slots=True)
class Meter:
    """What is known about one request as it goes; `finish` emits the event once."""

    key: KeyRecord
    request: ClientRequest
    request_id: str
    started: float
    admission: Admission | None = None
    target: Target | None = None
    attempts: int = 0
    first_byte_at: float | None = None
    # Answered from the exact cache: nothing upstream, and what the answer cost once.
    cached: bool = False
    saved_micro_usd: int = 0
    # The catalog model the name the client asked for means (an alias is metered as it).
    model: str | None = None
    # Orgs that opted in to body logging only (metering/bodies.py): what went upstream,
    # and the answer the client got.
    sent: bytes | None = None
    answer: bytes | bytearray | None = None
    assignment: Assignment | None = None  # the experiment's arm, when one was asked for
    _done: bool = field(default=False, repr=False)

    def event(self, status: int, error_type: str | None, usage: Usage) -> UsageEventV1:
        """Fitted to the schema's limits: the client's model name, its request id or a
        server's token counts may be anything, and analytics refuses what does not fit."""
        now = time.perf_counter()
        target = self.target
        return UsageEventV1.fitted(
            request_id=self.request_id,
            org_id=self.key.org_id,
            project_id=self.key.project_id,
            key_id=self.key.key_id,
            endpoint=self.request.metered_endpoint,
            model=self.model or self.request.model,
            served_model=target.deployment.model if target else None,
            provider=target.deployment.provider if target else None,
            deployment=target.deployment.id if target else None,
            stream=self.request.stream,
            status=status,
            error_type=error_type,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=usage.cached_tokens,
            tokens_estimated=usage.estimated,
            cost_micro_usd=cost_micro_usd(usage, _pricing(target)),
            latency_ms=_ms(self.started, now),
            ttft_ms=_ms(self.started, self.first_byte_at) if self.first_byte_at else None,
            attempts=self.attempts,
            fallback_from=target.fallback_from if target else None,
            cached=self.cached,
            saved_micro_usd=self.saved_micro_usd,
            region=target.deployment.region if target else None,
            experiment=self.assignment.experiment if self.assignment else None,
            arm=self.assignment.arm if self.assignment else None,
        )


class Metering:
    def __init__(
        self,
        sink: UsageSink,
        gatekeeper: Gatekeeper,
        metrics: GatewayMetrics | None = None,
        bodies: BodyRecorder | None = None,
        latency: LatencyStats | None = None,
    ) -> None:
        self._bodies = bodies
        self._sink = sink
        self._latency = latency  # the `latency` strategy's averages, fed by each answer
        self._gatekeeper = gatekeeper
        self._metrics = metrics
        self._tasks: set[asyncio.Task[None]] = set()
        self._due: list[tuple[Admission, Settlement]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._open = 0  # meters started and not finished: requests whose event is still due
        self._idle: asyncio.Event | None = None  # made by `drain`, set when _open is 0

    def start(
        self, key: KeyRecord, request: ClientRequest, request_id: str, started: float
    ) -> Meter:
        self._open += 1
        return Meter(key, request, request_id, started)

    def finish(
        self, meter: Meter, status: int, error_type: str | None, usage: Usage | None
    ) -> None:
        if meter._done:
            return
        meter._done = True
        self._open -= 1
        if self._idle is not None and self._open <= 0:
            self._idle.set()
        usage = usage or NO_USAGE
        event = meter.event(status, error_type, usage)
        self._sink.submit(event)
        if self._bodies is not None:
            self._bodies.record(meter.key, event, meter.sent, meter.answer)
        if self._metrics is not None:
            request, ttft = meter.request, event.ttft_ms
            first_s = ttft / 1000 if request.stream and ttft is not None else None
            self._metrics.finished(
                request.metered_endpoint, request.model, status, event.latency_ms / 1000, first_s
            )
            self._metrics.metered(event)
        if self._latency is not None and status == 200 and meter.attempts == 1:
            self._observe(self._latency, meter, event)
        if meter.admission is not None:
            settlement = Settlement(usage, event.cost_micro_usd)
            self._due.append((meter.admission, settlement))
            if self._timer is None:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(SETTLE_AFTER_S, self._settle_due)

    @staticmethod
    def _observe(latency: LatencyStats, meter: Meter, event: UsageEventV1) -> None:
        """An answer from one attempt times its deployment; a stream's first chunk is its
        TTFT, a whole answer's first byte comes with its last."""
        if event.deployment is None:
            return
        ttft = event.ttft_ms / 1000 if meter.request.stream and event.ttft_ms else None
        latency.observe(
            event.deployment,
            total_s=event.latency_ms / 1000,
            ttft_s=ttft,
            tokens=event.completion_tokens,
        )

    def unmetered(self, endpoint: str, status: int, started: float) -> None:
        """A request refused before it had a key and a body (401, 400, user-org away): no
        usage event, but still a request the error-rate alert must see."""
        if self._metrics is not None:
            seconds = time.perf_counter() - started
            self._metrics.finished(endpoint, UNKNOWN, status, seconds, None)

    def _settle_due(self) -> None:
        """Settlements wait up to SETTLE_AFTER_S and go together: their Redis calls then
        leave in one write instead of one syscall (and one wake-up of Redis) each. Waiting
        only keeps a reservation held a little longer, which errs on the safe side."""
        self._timer = None
        due, self._due = self._due, []
        for admission, settlement in due:
            task = asyncio.create_task(self._settle(admission, settlement))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _settle(self, admission: Admission, settlement: Settlement) -> None:
        try:
            await self._gatekeeper.settle(admission, settlement)
        except Exception:  # the reservation expires on its own; the request already ended
            log.warning("settle_failed", reservation=admission.reservation_id, exc_info=True)

    async def drain(self, wait_s: float = DRAIN_WAIT_S) -> None:
        """At shutdown, before the sink stops: waits (briefly) for requests still ending,
        whose events are not submitted yet, then for every settlement."""
        if self._open > 0:
            self._idle = asyncio.Event()
            try:
                await asyncio.wait_for(self._idle.wait(), wait_s)
            except TimeoutError:
                log.warning("usage_events_not_finished", requests=self._open)
        if self._timer is not None:
            self._timer.cancel()
            self._settle_due()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _pricing(target: Target | None) -> Pricing | None:
    """The deployment's own price when it has one, else the model's."""
    if target is None:
        return None
    return target.deployment.pricing or target.model.pricing


def _ms(start: float, end: float) -> float:
    return max(round((end - start) * 1000, 3), 0.0)
