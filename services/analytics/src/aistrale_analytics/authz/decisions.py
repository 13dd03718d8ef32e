"""user-org's answers to "may this user do this on this org?", cached per user.

A cached answer is dropped when a `user.updated` or `org.updated` control event arrives
(within a second of the change), and in any case after `ttl_s`, so that a lost event
costs at most that. A per-user generation counter keeps an answer fetched before an
invalidation from being stored after it. When user-org does not answer, the request is
refused with a 503 (fail closed): an old answer is never used past its TTL.
"""

from __future__ import annotations

import time
from collections import OrderedDict, defaultdict

import httpx
from pydantic import ValidationError

from aistrale_common.auth.authorize import PATH, AuthorizeDecision, AuthorizeRequest, Decision
from aistrale_common.errors import ServiceUnavailable
from aistrale_common.logging import get_logger

log = get_logger(__name__)
Key = tuple[str, str, str, bool]  # user id, org id, action, session passed MFA
MAX_ENTRIES = 20_000


class DecisionCache:
    def __init__(self, ttl_s: float, max_entries: int = MAX_ENTRIES) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._entries: OrderedDict[Key, tuple[Decision, float]] = OrderedDict()
        self._generation: defaultdict[str, int] = defaultdict(int)
        self._epoch = 0  # bumped by a drop of everything (an org event, a reconnect)

    def get(self, key: Key) -> Decision | None:
        entry = self._entries.get(key)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def stamp(self, user_id: str) -> tuple[int, int]:
        return self._epoch, self._generation.get(user_id, 0)  # no entry for mere askers

    def put(self, key: Key, decision: Decision, stamp: tuple[int, int]) -> None:
        if stamp != self.stamp(key[0]):
            return  # invalidated while we asked: this answer may predate the change
        self._entries[key] = (decision, time.monotonic() + self._ttl_s)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def drop_user(self, user_id: str) -> None:
        self._generation[user_id] += 1
        for key in [k for k in self._entries if k[0] == user_id]:
            del self._entries[key]

    def drop_all(self) -> None:
        self._epoch += 1
        self._entries.clear()


class UserOrgAuthorizer:
    def __init__(self, client: httpx.AsyncClient, service_token: str, cache: DecisionCache) -> None:
        self._client = client
        self._headers = {
            "authorization": f"Bearer {service_token}",
            "content-type": "application/json",
        }
        self.cache = cache

    async def decide(self, user_id: str, org_id: str, action: str, mfa: bool = False) -> Decision:
        key = (user_id, org_id, action, mfa)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        stamp = self.cache.stamp(user_id)
        ask = AuthorizeRequest(user_id=user_id, org_id=org_id, action=action, mfa=mfa)
        decision = await self._ask(ask)
        self.cache.put(key, decision, stamp)
        return decision

    async def _ask(self, ask: AuthorizeRequest) -> Decision:
        try:
            response = await self._client.post(
                PATH, content=ask.model_dump_json(), headers=self._headers
            )
            response.raise_for_status()
            return AuthorizeDecision.model_validate_json(response.content).decision
        except (httpx.HTTPError, ValidationError) as exc:
            log.warning("authorize_unavailable", error=f"{type(exc).__name__}: {exc}")
            raise ServiceUnavailable(
                "Authorization is unavailable; try again", code="authorization_unavailable"
            ) from exc
