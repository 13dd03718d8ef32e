"""The bench's upstream: a minimal raw-ASGI OpenAI server answering at once, so that what is
measured is the path in front of it. Run it with `uvicorn bench.mock_upstream:app`."""

from __future__ import annotations

import orjson
from starlette.types import Receive, Scope, Send

COMPLETION = orjson.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "bench-upstream",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the bench upstream."},
                "logprobs": None,
                "finish_reason": "stop",
                "stop_reason": None,
            }
        ],
        "usage": {"prompt_tokens": 12, "total_tokens": 19, "completion_tokens": 7},
    }
)
MODELS = orjson.dumps({"object": "list", "data": [{"id": "bench-upstream", "object": "model"}]})
JSON = [(b"content-type", b"application/json")]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the request body
        message = await receive()
        more = message.get("more_body", False)
    body = MODELS if scope["path"].endswith("/models") else COMPLETION
    if scope["path"] == "/health":
        body = b"{}"
    headers = [*JSON, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
