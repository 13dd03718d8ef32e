"""FastAPI dependencies on the router's state, for routes served the FastAPI way (the /v1
hot path is raw ASGI and reaches the gateway through `GatewayRef` instead)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from aistrale_common.service_state import app_state
from aistrale_router.gateway.service import Gateway
from aistrale_router.state import RouterState


def get_state(request: Request) -> RouterState:
    return app_state(request.app, RouterState)


StateDep = Annotated[RouterState, Depends(get_state)]


def get_gateway(state: StateDep) -> Gateway:
    return state.gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
