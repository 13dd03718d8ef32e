"""The traffic the dashboards must show: successes and streams (openai SDK), 401s, 404s,
budget and rate-limit rejections, admin calls and analytics queries."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field

import httpx
import openai

from tests.soak.platform import Platform
from tests.soak.tenants import Admin

MODEL = "soak-chat"  # priced: tokens and cost move
MESSAGES: list[openai.types.chat.ChatCompletionMessageParam] = [
    {"role": "user", "content": "say something"}
]


@dataclass
class Tenants:
    ok: str  # a key with no limits
    broke: str  # its org's budget pays for nothing: insufficient_quota
    limited: str  # rpm_limit 2: rate_limit_exceeded from the third request of a minute
    org_id: str


@dataclass
class Seen:
    statuses: Counter[str] = field(default_factory=Counter)


def provision(admin: Admin, run: str) -> Tenants:
    ok_org = admin.org(f"obs-{run}-ok", None)
    broke_org = admin.org(f"obs-{run}-broke", 1)
    _, ok = admin.key(ok_org, "ok")
    _, broke = admin.key(broke_org, "broke")
    _, limited = admin.key(ok_org, "limited", rpm_limit=2)
    return Tenants(ok, broke, limited, ok_org)


def _sdk(platform: Platform, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=platform.router.url + "/v1", api_key=key, max_retries=0)


def one_round(platform: Platform, admin: Admin, tenants: Tenants, seen: Seen) -> None:
    ok = _sdk(platform, tenants.ok)
    ok.chat.completions.create(model=MODEL, messages=MESSAGES)
    seen.statuses["200"] += 1
    stream = ok.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    assert any(chunk.choices for chunk in stream)
    seen.statuses["200 stream"] += 1
    _expect(seen, "401", openai.AuthenticationError, _sdk(platform, "sk-" + secrets.token_hex(16)))
    _expect(seen, "404", openai.NotFoundError, ok, model="no-such-model")
    _expect(seen, "429 insufficient_quota", openai.RateLimitError, _sdk(platform, tenants.broke))
    limited = _sdk(platform, tenants.limited)
    try:
        limited.chat.completions.create(model=MODEL, messages=MESSAGES)
        seen.statuses["200 limited"] += 1
    except openai.RateLimitError as exc:
        assert exc.code == "rate_limit_exceeded", exc
        seen.statuses["429 rate_limit_exceeded"] += 1
    admin.call("GET", f"/admin/v1/orgs/{tenants.org_id}/keys")
    seen.statuses["admin"] += 1
    answer = httpx.get(
        f"{platform.analytics.url}/analytics/v1/orgs/{tenants.org_id}/usage",
        params={"bucket": "minute"},
        headers={"authorization": f"Bearer {admin.token()}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    seen.statuses["analytics"] += 1


def _expect(
    seen: Seen,
    label: str,
    error: type[openai.APIStatusError],
    client: openai.OpenAI,
    model: str = MODEL,
) -> None:
    try:
        client.chat.completions.create(model=model, messages=MESSAGES)
    except error:
        seen.statuses[label] += 1
        return
    raise AssertionError(f"expected {error.__name__} for {label}")
