"""What the router's lifespan opens: its service state (aistrale_common.service_state).

The /v1 hot path does not solve FastAPI dependencies (gateway/front_door.py); its handlers
reach the gateway through `GatewayRef`. Anything served the FastAPI way reads this state
through deps.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aistrale_common.health import Check
from aistrale_common.resources import CoreResources
from aistrale_router.admission import ManagedGatekeeper
from aistrale_router.gateway.service import Gateway


@dataclass
class RouterState:
    core: CoreResources
    gatekeeper: ManagedGatekeeper
    gateway: Gateway

    def checks(self) -> Mapping[str, Check]:
        return {**self.core.checks(), **self.gatekeeper.checks()}
