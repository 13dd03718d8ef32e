"""The inbound protocols the router serves besides OpenAI's own endpoints, each on its path
(`gateway/api.py` lists them with the rest)."""

from __future__ import annotations

from aistrale_router.protocols.base import InboundProtocol
from aistrale_router.protocols.messages.protocol import MessagesProtocol
from aistrale_router.protocols.responses.protocol import ResponsesProtocol
from aistrale_router.settings import Settings


def inbound_protocols(settings: Settings, responses: ResponsesProtocol) -> list[InboundProtocol]:
    del settings  # protocols read their own settings when they are added here
    return [responses, MessagesProtocol()]
