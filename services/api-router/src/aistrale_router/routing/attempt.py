"""One call to one deployment, from the moment it is sent until its answer is through.

The attempt counts in flight (load-aware routing, the breaker's single trial) from its
start, and ends exactly once, whoever ends it first: `close(ok)` reports the deployment's
health to the breaker, `abandon()` (nobody waits for the answer any more: the client left,
the server is stopping) takes it out of flight without a verdict on the deployment.
"""

from __future__ import annotations

from aistrale_router.routing.state import DeploymentStates


class Attempt:
    __slots__ = ("_done", "_states", "deployment_id")

    def __init__(self, states: DeploymentStates, deployment_id: str) -> None:
        self._states = states
        self.deployment_id = deployment_id
        self._done = False
        states.started(deployment_id)

    @property
    def done(self) -> bool:
        return self._done

    def close(self, ok: bool) -> None:
        if not self._done:
            self._done = True
            self._states.finished(self.deployment_id, ok=ok)

    def abandon(self) -> None:
        if not self._done:
            self._done = True
            self._states.abandoned(self.deployment_id)
