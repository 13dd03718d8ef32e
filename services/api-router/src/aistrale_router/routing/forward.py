"""Send the request to the first deployment that answers: retries with backoff on 429/5xx,
connect errors and timeouts, as long as no byte has reached the client.

Returns the upstream response with its headers read and its body not yet read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from aistrale_common.errors import (
    AistraleError,
    ServiceUnavailable,
    UpstreamFailed,
    UpstreamTimeout,
)
from aistrale_common.logging import get_logger
from aistrale_router.observability.genai import ATTEMPT
from aistrale_router.providers.base import PreparedRequest
from aistrale_router.routing.attempt import Attempt
from aistrale_router.routing.picker import Target
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.upstream.port import (
    UpstreamBroken,
    UpstreamClient,
    UpstreamResponse,
    UpstreamTimedOut,
    UpstreamUnreachable,
)

log = get_logger(__name__)
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})

# What a failed attempt allows: another try (any deployment), another deployment only, none.
Retry = Literal["retry", "skip", "stop"]
RETRY: Retry = "retry"
SKIP: Retry = "skip"
STOP: Retry = "stop"


class Preparer(Protocol):
    def prepare(self, target: Target) -> PreparedRequest: ...

    def error(
        self, target: Target, status: int, body: bytes, headers: Mapping[str, str]
    ) -> AistraleError: ...


@dataclass(slots=True)
class Opened:
    """An answer whose headers are in: the attempt ends when its body is through."""

    response: UpstreamResponse
    target: Target
    attempts: int
    attempt: Attempt

    async def read(self) -> bytes:
        """The whole body; the connection is released and the attempt ended either way."""
        ok = False
        try:
            body = await self.response.read()
            ok = True
            return body
        except UpstreamTimedOut:
            raise UpstreamTimeout("The model stopped sending mid-answer.") from None
        except UpstreamBroken:
            raise UpstreamFailed("The model's server broke off its answer.") from None
        except asyncio.CancelledError:
            self.attempt.abandon()
            raise
        finally:
            await self.response.close()
            self.attempt.close(ok)

    async def close(self, *, ok: bool) -> None:
        """Ends the attempt; mid-body, the connection is dropped so upstream stops."""
        try:
            await self.response.close()
        finally:
            self.attempt.close(ok)


class AttemptsFailed(Exception):
    def __init__(self, error: AistraleError, attempts: int, target: Target | None) -> None:
        super().__init__(error.message)
        self.error = error
        self.attempts = attempts
        self.target = target


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    backoff_s: float
    first_byte_timeout_s: float


class Forwarder:
    def __init__(
        self, client: UpstreamClient, states: DeploymentStates, policy: RetryPolicy
    ) -> None:
        self._client = client
        self._states = states
        self._policy = policy

    async def open(self, targets: list[Target], prepare: Preparer, rid: str) -> Opened:
        error: AistraleError | None = None  # built only when needed: this is the hot path
        target: Target | None = None
        # Deployments that timed out or said they are not ready (503): not tried again for
        # this request (a retry would queue a second generation behind the first).
        skipped: set[str] = set()
        # Every deployment and fallback gets its chance, and at least max_attempts tries.
        attempts = max(self._policy.max_attempts, len(targets)) if targets else 0
        tried = 0
        for attempt in range(attempts):
            target = _next_target(targets, attempt, skipped)
            if target is None:
                break
            if attempt:
                await asyncio.sleep(self._policy.backoff_s * 2 ** (attempt - 1))
            tried = attempt + 1
            result = await self._try(target, prepare, rid)
            if isinstance(result, Opened):
                result.attempts = tried
                return result
            error, retry = result
            if retry == SKIP:
                skipped.add(target.deployment.id)
            elif retry == STOP:
                raise AttemptsFailed(error, tried, target)
        if error is None:
            error = ServiceUnavailable("No deployment is available for this model.")
        raise AttemptsFailed(error, tried, target)

    async def _try(
        self, target: Target, prepare: Preparer, rid: str
    ) -> Opened | tuple[AistraleError, Retry]:
        request = prepare.prepare(target)  # may raise InvalidRequest: not the upstream's fault
        attempt = Attempt(self._states, target.deployment.id)
        ATTEMPT.set(target)  # names the attempt's GenAI span (observability/genai.py)
        try:
            response = await self._send(request, rid)
            if response.status < 400:
                return Opened(response, target, 0, attempt)  # ends when the body is through
            content = await _read_error_body(response)
        except asyncio.CancelledError:
            attempt.abandon()
            raise
        except (TimeoutError, UpstreamTimedOut):
            # The timeout closed the connection (upstream stops generating); the deployment
            # is busy or stuck: another one may answer, this one is not asked again.
            attempt.close(False)
            return UpstreamTimeout("The model did not answer in time."), SKIP
        except UpstreamUnreachable as exc:
            attempt.close(False)
            log.info("upstream_unreachable", deployment=attempt.deployment_id, error=str(exc))
            # A fixed phrase: the client library's wording is not the API's.
            return ServiceUnavailable("The model's server could not be reached."), RETRY
        except UpstreamBroken as exc:  # an answer that is not HTTP, before its headers
            attempt.close(False)
            log.info("upstream_unreadable", deployment=attempt.deployment_id, error=str(exc))
            failed = UpstreamFailed("The model's server sent an answer that could not be read.")
            return failed, RETRY
        attempt.close(response.status < 500)
        error = prepare.error(target, response.status, content, response.headers)
        # Loading or overloaded (Anthropic's 529): it said so, it is not asked again.
        if response.status in (503, 529):
            return error, SKIP
        return error, RETRY if response.status in RETRYABLE_STATUS else STOP

    async def _send(self, request: PreparedRequest, rid: str) -> UpstreamResponse:
        headers = {**request.headers, "x-request-id": rid}
        async with asyncio.timeout(self._policy.first_byte_timeout_s):
            return await self._client.post(request.url, headers, request.body)


async def _read_error_body(response: UpstreamResponse) -> bytes:
    try:
        return await response.read()
    except (UpstreamTimedOut, UpstreamBroken):
        return b""
    finally:
        await response.close()


def _next_target(targets: list[Target], attempt: int, skipped: set[str]) -> Target | None:
    """Round-robin over the plan, past the deployments this request no longer tries."""
    if not skipped:
        return targets[attempt % len(targets)]
    for offset in range(len(targets)):
        target = targets[(attempt + offset) % len(targets)]
        if target.deployment.id not in skipped:
            return target
    return None


def monotonic_ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)
