"""The official openai SDK clients of the router's tests, closed after each test.

Left to the garbage collector, an asyncio transport closes its socket without leaving the
event loop's selector; a new socket that gets the same fd number can then go unread, and a
test waits for an answer that sits in the kernel's buffer (a suite hung on exactly that).
`tests/conftest.py` closes every client opened here when its test ends.
"""

from __future__ import annotations

from typing import Any

import openai

_OPEN: list[openai.AsyncOpenAI] = []


def open_sdk(base_url: str, api_key: str, **options: Any) -> openai.AsyncOpenAI:
    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0, **options)
    _OPEN.append(client)
    return client


async def close_sdk_clients() -> None:
    while _OPEN:
        await _OPEN.pop().close()
