"""A fake user-org for tests: GET /internal/v1/keys/{hash} exactly per KeyRecord, the org
provider-key lookup (none stored unless `credentials` says so), and control events on the
bus when a key changes (DESIGN.md "Key lookup", "Control events")."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aistrale_common.events import EventBus, OutgoingMessage
from aistrale_common.events.schemas import ControlEvent
from aistrale_router.keys.record import KeyRecord
from aistrale_router.keys.resolver import hash_key


@dataclass
class FakeUserOrg:
    service_token: str
    records: dict[str, KeyRecord] = field(default_factory=dict)
    lookups: int = 0
    credentials: dict[tuple[str, str], str] = field(default_factory=dict)  # (org, provider)

    def __post_init__(self) -> None:
        route = Route("/internal/v1/keys/{key_hash}", self.lookup, methods=["GET"])
        credential = Route(
            "/internal/v1/orgs/{org_id}/provider-credentials/{provider}",
            self.credential,
            methods=["GET"],
        )
        self.app = Starlette(routes=[route, credential])

    def add_key(self, token: str, record: KeyRecord) -> None:
        self.records[hash_key(token)] = record

    async def lookup(self, request: Request) -> Response:
        self.lookups += 1
        if request.headers.get("authorization") != f"Bearer {self.service_token}":
            return Response(b'{"detail":"bad service token"}', 401)
        record = self.records.get(request.path_params["key_hash"])
        if record is None:
            return Response(b'{"detail":"unknown key"}', 404, media_type="application/json")
        return Response(record.model_dump_json().encode(), media_type="application/json")

    async def credential(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.service_token}":
            return Response(b'{"detail":"bad service token"}', 401)
        provider = request.path_params["provider"]
        key = self.credentials.get((request.path_params["org_id"], provider))
        if key is None:
            return Response(b'{"detail":"none stored"}', 404, media_type="application/json")
        body = orjson.dumps({"provider": provider, "api_key": key})
        return Response(body, media_type="application/json")

    async def revoke(self, token: str, bus: EventBus, exchange: str) -> None:
        key_hash = hash_key(token)
        record = self.records[key_hash].model_copy(update={"status": "revoked"})
        self.records[key_hash] = record
        event = ControlEvent(type="key.revoked", org_id=record.org_id, key_id=record.key_id)
        message = OutgoingMessage(event.routing_key(), event.model_dump_json().encode())
        await bus.publish(exchange, message)
