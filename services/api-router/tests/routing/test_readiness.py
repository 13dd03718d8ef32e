"""/v1/models readiness of a deployment: its last probe and, for hosted providers that are
never probed, the breaker's passive statistics."""

from __future__ import annotations

from aistrale_router.routing.state import DeploymentStates


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _fail(states: DeploymentStates, deployment: str, times: int) -> None:
    for _ in range(times):
        states.started(deployment)
        states.finished(deployment, ok=False)


def test_a_hosted_provider_failing_in_a_row_is_not_ready_until_a_trial_succeeds() -> None:
    clock = Clock()
    states = DeploymentStates(failures=3, open_s=10, clock=clock)
    assert states.ready("openai/gpt")  # never probed, never failed
    _fail(states, "openai/gpt", 2)
    assert states.ready("openai/gpt")  # below the threshold
    _fail(states, "openai/gpt", 1)
    assert not states.ready("openai/gpt")  # breaker open
    clock.now += 10
    assert states.ready("openai/gpt")  # half open: a trial may pass
    states.started("openai/gpt")
    states.finished("openai/gpt", ok=False)
    assert not states.ready("openai/gpt")  # the trial failed: open again
    clock.now += 10
    states.started("openai/gpt")
    states.finished("openai/gpt", ok=True)
    assert states.ready("openai/gpt")


def test_a_failed_probe_makes_a_deployment_not_ready() -> None:
    states = DeploymentStates(failures=3, open_s=10)
    states.set_health("vllm/a", False)
    assert not states.ready("vllm/a")
    states.set_health("vllm/a", True)
    assert states.ready("vllm/a")
