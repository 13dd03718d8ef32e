"""Failed logins per client address, in the shared store (every replica counts together).

The per-email lockout (auth/repository.py) stops guessing one account's password; this
stops one address from trying many emails, which the per-email count never sees. Past the
limit the address is refused, right password or not, until its window ends.
"""

from __future__ import annotations

import math
import time

from aistrale_common.errors import RateLimited
from aistrale_userorg.context import Context


def _keys(ip: str) -> tuple[str, str]:
    return f"login:ip-failures:{ip}", f"login:ip-blocked:{ip}"


async def refuse_if_throttled(ctx: Context, ip: str | None) -> None:
    if ip is None:
        return
    (until,) = await ctx.kv.get_many([_keys(ip)[1]])
    wait = float(until) - time.time() if until is not None else 0
    if wait > 0:
        raise RateLimited(
            "Too many failed logins from this address; try again later",
            code="login_throttled",
            headers={"Retry-After": str(math.ceil(wait))},
        )


async def count_failure(ctx: Context, ip: str | None) -> None:
    if ip is None:
        return
    failures_key, blocked_key = _keys(ip)
    settings = ctx.settings
    count, left_s = await ctx.kv.incr(failures_key, settings.login_ip_window_s)
    if count >= settings.login_ip_max_failures:
        await ctx.kv.set(blocked_key, str(time.time() + left_s), left_s)
