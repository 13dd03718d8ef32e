"""A router stand-in for the multi-process tests: its own process, its own gatekeeper.

python worker.py <redis_url> <prefix> burst <n> <start_at>   admit n at once, print counts
python worker.py <redis_url> <prefix> hold                   admit, print, never settle
"""

from __future__ import annotations

import asyncio
import sys
import time

from aistrale_common.errors import AistraleError
from aistrale_router.admission import AdmissionRequest, build_gatekeeper
from aistrale_router.settings import Settings
from aistrale_testkit.router.admission import key, model

MODEL = model()
RPM_KEY = key(rpm_limit=25)
BUDGET_KEY = key(org_budget=1_000, period="total")


async def burst(redis_url: str, prefix: str, n: int, start_at: float) -> None:
    gatekeeper = build_gatekeeper(Settings(), redis_url=redis_url, prefix=prefix)
    request = AdmissionRequest(RPM_KEY, MODEL, 10, 10)
    await gatekeeper.checks()["limits"]()  # connected before the start line
    await asyncio.sleep(max(0.0, start_at - time.time()))
    results = await asyncio.gather(
        *(gatekeeper.admit(request) for _ in range(n)), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, AistraleError) for r in failures), failures
    codes = [getattr(r, "instance_code", "admitted") for r in results]
    print(f"admitted={codes.count('admitted')} limited={codes.count('rate_limit_exceeded')}")
    await gatekeeper.close()


async def hold(redis_url: str, prefix: str) -> None:
    settings = Settings(reservation_ttl_s=2)
    gatekeeper = build_gatekeeper(settings, redis_url=redis_url, prefix=prefix)
    admission = await gatekeeper.admit(AdmissionRequest(BUDGET_KEY, MODEL, 100, 200))
    print(f"held={admission.held_micro_usd}", flush=True)
    await asyncio.sleep(3600)  # mid-request, until SIGKILL


def main(argv: list[str]) -> None:
    redis_url, prefix, mode, *rest = argv
    if mode == "burst":
        asyncio.run(burst(redis_url, prefix, int(rest[0]), float(rest[1])))
    else:
        asyncio.run(hold(redis_url, prefix))


if __name__ == "__main__":
    main(sys.argv[1:])
