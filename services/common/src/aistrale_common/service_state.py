"""The typed per-service state: what a service's lifespan opens, and where requests find it.

Each service declares one state class (a dataclass of what it opened) with its readiness
checks; its lifespan yields it, `build_app` keeps it in the app's `Runtime`, and the
service's `deps.py` hands it to endpoints as a typed FastAPI dependency. Nothing else is put
on the untyped `app.state`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer
from starlette.applications import Starlette

from aistrale_common.errors import ServiceUnavailable
from aistrale_common.health import Check
from aistrale_common.metrics import ServiceMetrics
from aistrale_common.resources import NOT_STARTED
from aistrale_common.settings import ServiceSettings
from aistrale_common.shutdown import Drain


class ServiceState(Protocol):
    """What a service's lifespan yields: everything it opened, and how to tell it is up."""

    def checks(self) -> Mapping[str, Check]: ...


S = TypeVar("S", bound=ServiceState)
T = TypeVar("T", bound=ServiceState)


@dataclass
class Runtime(Generic[S]):
    """What `build_app` made for the app, plus the state while the lifespan runs."""

    service: str
    settings: ServiceSettings
    metrics: ServiceMetrics
    tracer: Tracer | None
    drain: Drain = field(default_factory=Drain)  # begun by the server on SIGTERM
    tracer_provider: TracerProvider | None = None  # tests flush it
    current: S | None = None

    def state(self) -> S:
        if self.current is None:
            raise ServiceUnavailable(f"{self.service} is starting; retry shortly.")
        return self.current

    def checks(self) -> Mapping[str, Check]:
        """Called per /ready request: the lifespan fills the state in after startup."""
        return NOT_STARTED if self.current is None else self.current.checks()


def app_runtime(app: Starlette) -> Runtime[ServiceState]:
    runtime = getattr(app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise TypeError("not an app made by aistrale_common.app.build_app")
    return runtime


def app_state(app: Starlette, kind: type[T]) -> T:
    """The running app's state, checked to be the service's own state class."""
    state = app_runtime(app).state()
    if not isinstance(state, kind):
        raise TypeError(f"app state is {type(state).__name__}, not {kind.__name__}")
    return state
