"""The soak's load: bounded concurrency over phases, every outcome recorded as the client
saw it (status, error code, what the usage in the answer says it cost).

A request counts as `ok` only if the client got all of it: a 2xx body with usage, or a
stream that ends with `[DONE]`, carries usage and no error event.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
import orjson

from .platform import PRICED
from .tenants import Key

MAX_TOKENS = 12
PRICES = {
    "soak-chat": (PRICED["input_micro_usd_per_mtok"], PRICED["output_micro_usd_per_mtok"]),
    "soak-free": (0, 0),
}


@dataclass(frozen=True)
class Phase:
    seconds: float
    concurrency: int  # 0: a pause


@dataclass(frozen=True)
class Outcome:
    started: float  # monotonic
    ended: float
    key: Key
    model: str
    stream: bool
    status: int  # 0: no HTTP answer (connection refused or cut)
    code: str  # "ok", an OpenAI error code, "stream_error:<code>", "transport"
    cost: int  # micro-USD, from the answer's usage; 0 unless ok

    @property
    def ok(self) -> bool:
        return self.code == "ok"


@dataclass
class Record:
    outcomes: list[Outcome] = field(default_factory=list)
    long_streams: list[Outcome] = field(default_factory=list)  # a fault's, in their order

    def by_code(self) -> Counter[str]:
        return Counter(o.code for o in self.outcomes)

    def server_errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status >= 500 or o.code.startswith("stream_error")]

    def per_org(self, org_id: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.key.org_id == org_id]


def cost_of(model: str, usage: dict[str, int]) -> int:
    price_in, price_out = PRICES[model]
    spent = usage["prompt_tokens"] * price_in + usage["completion_tokens"] * price_out
    return math.ceil(spent / 1_000_000)


class Load:
    def __init__(self, router_url: str, keys: list[Key], seed: int = 7) -> None:
        self._url = router_url + "/v1/chat/completions"
        self._keys = keys
        self._rng = random.Random(seed)
        self.record = Record()

    async def run(self, phases: list[Phase]) -> Record:
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            for phase in phases:
                await self._phase(http, phase)
        return self.record

    async def _phase(self, http: aiohttp.ClientSession, phase: Phase) -> None:
        until = time.monotonic() + phase.seconds
        if phase.concurrency == 0:
            await asyncio.sleep(phase.seconds)
            return
        await asyncio.gather(*(self._worker(http, until) for _ in range(phase.concurrency)))

    async def _worker(self, http: aiohttp.ClientSession, until: float) -> None:
        while time.monotonic() < until:
            key = self._rng.choice(self._keys)
            model = self._rng.choice(key.models)
            stream = self._rng.random() < key.stream_share
            self.record.outcomes.append(await self.one(http, key, model, stream))

    async def long_stream(self, key: Key, words: int) -> Outcome:
        """A stream of `words` tokens at 50 ms each (the fake vLLM's SLOW_STREAM)."""
        async with aiohttp.ClientSession() as http:
            return await self.one(http, key, "soak-chat", True, words, "SLOW_STREAM")

    async def one(
        self,
        http: aiohttp.ClientSession,
        key: Key,
        model: str,
        stream: bool,
        max_tokens: int = MAX_TOKENS,
        text: str = "soak",
    ) -> Outcome:
        body: dict[str, object] = {
            "model": model,
            "messages": [{"role": "user", "content": f"{text} {self._rng.random()}"}],
            "max_tokens": max_tokens,
        }
        if stream:
            body.update(stream=True, stream_options={"include_usage": True})
        headers = {"authorization": f"Bearer {key.secret}", "content-type": "application/json"}
        started = time.monotonic()
        try:
            async with http.post(self._url, data=orjson.dumps(body), headers=headers) as answer:
                raw = await answer.read()
                status = answer.status
        except (TimeoutError, aiohttp.ClientError):
            return Outcome(started, time.monotonic(), key, model, stream, 0, "transport", 0)
        ended = time.monotonic()
        code, usage = _stream_result(raw) if stream and status == 200 else _result(raw, status)
        cost = cost_of(model, usage) if code == "ok" and usage else 0
        return Outcome(started, ended, key, model, stream, status, code, cost)


def _result(raw: bytes, status: int) -> tuple[str, dict[str, int] | None]:
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return f"unparsable_{status}", None
    if status == 200:
        usage = parsed.get("usage")
        return ("ok", usage) if usage else ("no_usage", None)
    error = parsed.get("error") or {}
    return str(error.get("code") or error.get("type") or status), None


def _stream_result(raw: bytes) -> tuple[str, dict[str, int] | None]:
    usage = None
    done = False
    for line in raw.split(b"\n"):
        if not line.startswith(b"data: "):
            continue
        data = line[6:].strip()
        if data == b"[DONE]":
            done = True
            continue
        event = orjson.loads(data)
        if "error" in event:
            return f"stream_error:{event['error'].get('code')}", None
        usage = event.get("usage") or usage
    if not done:
        return "stream_error:truncated", None
    return ("ok", usage) if usage else ("no_usage", None)
