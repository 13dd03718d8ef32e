"""Per-deployment latency, as the `latency` strategy ranks deployments: exponentially
weighted moving averages of time to first token and time per output token.

Fed from every successful request's usage event (gateway/metering.py), off the decision:
a stream gives both (TTFT, then the rest of its time over its tokens after the first); a
whole answer gives only its total time, which is charged to time per output token after
the deployment's TTFT average, if known. The averages are this router's own; replicas
measure alike because they see alike.
"""

from __future__ import annotations

from dataclasses import dataclass

ALPHA = 0.2  # weight of the newest sample: about the last 10 requests count


@dataclass(slots=True)
class Ewma:
    ttft_s: float | None = None
    tpot_s: float | None = None
    samples: int = 0


def _mix(old: float | None, sample: float) -> float:
    return sample if old is None else old + ALPHA * (sample - old)


class LatencyStats:
    __slots__ = ("_stats",)

    def __init__(self) -> None:
        self._stats: dict[str, Ewma] = {}

    def get(self, deployment_id: str) -> Ewma | None:
        return self._stats.get(deployment_id)

    def observe(
        self, deployment_id: str, *, total_s: float, ttft_s: float | None, tokens: int
    ) -> None:
        stats = self._stats.get(deployment_id)
        if stats is None:
            stats = self._stats[deployment_id] = Ewma()
        stats.samples += 1
        if ttft_s is not None:
            stats.ttft_s = _mix(stats.ttft_s, ttft_s)
            if tokens > 1:
                stats.tpot_s = _mix(stats.tpot_s, max(total_s - ttft_s, 0.0) / (tokens - 1))
            return
        if tokens > 0:
            generating = max(total_s - (stats.ttft_s or 0.0), 0.0)
            stats.tpot_s = _mix(stats.tpot_s, generating / tokens)
        else:
            stats.ttft_s = _mix(stats.ttft_s, total_s)  # an answer without tokens: all wait

    def expected_s(self, deployment_id: str, tokens: int) -> float | None:
        """The expected time of an answer of `tokens` tokens; None before any sample."""
        stats = self._stats.get(deployment_id)
        if stats is None:
            return None
        return (stats.ttft_s or 0.0) + (stats.tpot_s or 0.0) * tokens
