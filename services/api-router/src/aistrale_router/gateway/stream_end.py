"""What happens when a stream the gateway opened ends: its attempt ends (the deployment's
health for the breaker) and its usage is metered, once, whichever of the two reports
comes first. The stream itself (`Streaming`) only holds the callbacks: it does not know
the gateway."""

from __future__ import annotations

from dataclasses import dataclass

from aistrale_router.gateway.cutoff import SHUTTING_DOWN, Cutoff
from aistrale_router.gateway.metering import CLIENT_CLOSED, Meter, Metering
from aistrale_router.routing.forward import Opened
from aistrale_router.streaming.relay import StreamRelay

CLIENT_GONE = (CLIENT_CLOSED, "client_disconnected")


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The HTTP layer's verdict on a stream that is over."""

    client_gone: bool = False  # the client disconnected before the end
    cut: bool = False  # the shutdown cutoff ended it


class StreamCompletion:
    __slots__ = ("_cutoff", "_meter", "_metering", "_opened", "_relay")

    def __init__(
        self, metering: Metering, cutoff: Cutoff, meter: Meter, opened: Opened, relay: StreamRelay
    ) -> None:
        self._metering = metering
        self._cutoff = cutoff
        self._meter = meter
        self._opened = opened
        self._relay = relay

    def answered(self) -> None:
        """The relay holds the stream's last event: metered now, before it leaves."""
        self._finish(StreamEnd())

    async def ended(self, end: StreamEnd) -> None:
        try:
            # Stops upstream generating if still running; ends the attempt.
            await self._opened.close(ok=self._relay.error is None)
        finally:
            self._finish(end)

    def _finish(self, end: StreamEnd) -> None:
        """Once per stream (Metering.finish ignores a second call)."""
        relay, meter = self._relay, self._meter
        meter.first_byte_at = relay.first_chunk_at
        status, why = self._outcome(end)
        self._metering.finish(meter, status, why, relay.final_usage())

    def _outcome(self, end: StreamEnd) -> tuple[int, str | None]:
        relay = self._relay
        if relay.completed or relay.finished:
            return 200, None
        if end.cut:
            return 503, SHUTTING_DOWN
        if end.client_gone:
            return CLIENT_GONE
        if relay.error is not None:
            return relay.error.status, relay.error.instance_code
        # Neither ended nor failed: the relay was cancelled (the server's own graceful
        # timeout) or could not send; it did not give the client the whole answer.
        return (503, SHUTTING_DOWN) if self._cutoff.passed else (500, "stream_interrupted")
