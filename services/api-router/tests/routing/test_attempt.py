"""An attempt owns its start and its end: it leaves flight exactly once, whoever ends it,
also when nobody waits for the answer any more (the client left mid-request)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import pytest

from aistrale_common.errors import AistraleError, UpstreamFailed
from aistrale_router.catalog.schema import Deployment, ModelEntry
from aistrale_router.providers.base import PreparedRequest
from aistrale_router.routing.attempt import Attempt
from aistrale_router.routing.forward import Forwarder, RetryPolicy
from aistrale_router.routing.picker import Target
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.upstream.port import UpstreamResponse

DEPLOYMENT = Deployment(provider="vllm", base_url="http://vllm.test/v1", model="m")
TARGET = Target(ModelEntry(name="m", deployments=[DEPLOYMENT]), DEPLOYMENT, None)
POLICY = RetryPolicy(max_attempts=1, backoff_s=0.0, first_byte_timeout_s=5.0)


class _Stalled:
    """Headers in, then a body that never comes (or a server that never answers)."""

    status = 200
    headers: Mapping[str, str] = {"content-type": "application/json"}

    def __init__(self, answer_headers: bool) -> None:
        self._answer_headers = answer_headers
        self.closed = 0

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> UpstreamResponse:
        if not self._answer_headers:
            await asyncio.Event().wait()
        return self

    async def get(self, url: str, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
        raise AssertionError("not used")

    async def read(self) -> bytes:
        await asyncio.Event().wait()
        return b""

    async def chunks(self) -> AsyncIterator[bytes]:
        yield b""

    async def close(self) -> None:
        self.closed += 1


class _Prepare:
    def prepare(self, target: Target) -> PreparedRequest:
        return PreparedRequest("POST", "http://vllm.test/v1/chat/completions", {}, b"{}")

    def error(
        self, target: Target, status: int, body: bytes, headers: Mapping[str, str]
    ) -> AistraleError:
        return UpstreamFailed("no")


def test_an_attempt_ends_once_whoever_ends_it() -> None:
    states = DeploymentStates(failures=1, open_s=30.0)
    attempt = Attempt(states, "d")
    assert states.get("d").inflight == 1
    attempt.close(False)
    attempt.close(True)  # a second report changes nothing: the first verdict stands
    attempt.abandon()
    assert (states.get("d").inflight, states.get("d").failures) == (0, 1)


@pytest.mark.parametrize("answer_headers", [False, True])
async def test_a_client_gone_mid_request_takes_the_attempt_out_of_flight(
    answer_headers: bool,
) -> None:
    states = DeploymentStates(failures=1, open_s=30.0)
    client = _Stalled(answer_headers)
    forwarder = Forwarder(client, states, POLICY)

    async def request() -> bytes:
        opened = await forwarder.open([TARGET], _Prepare(), "rid")
        return await opened.read()

    task = asyncio.ensure_future(request())
    await asyncio.sleep(0.05)
    assert states.get(DEPLOYMENT.id).inflight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    state = states.get(DEPLOYMENT.id)
    # Out of flight, and no verdict on the deployment: its breaker stays closed.
    assert (state.inflight, state.failures) == (0, 0)
    assert states.available(DEPLOYMENT.id)
    assert client.closed == (1 if answer_headers else 0)
