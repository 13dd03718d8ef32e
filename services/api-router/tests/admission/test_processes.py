"""Across processes on real Redis: RPM is global, and a killed router's holds expire."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aistrale_common.errors import QuotaExceeded
from aistrale_router.admission import AdmissionRequest, build_gatekeeper
from aistrale_router.settings import Settings
from aistrale_testkit.fixtures import Infra
from aistrale_testkit.router.admission import drop_keys, key, model

WORKER = str(Path(__file__).with_name("worker.py"))


def start_time() -> float:
    """Two seconds from now, but never within 5 s of a minute boundary (windows are fixed
    per UTC minute: a burst that straddles one would see two windows)."""
    at = time.time() + 2.0
    if at % 60 > 55:
        at = math.floor(at / 60) * 60 + 61
    return at


async def test_rpm_is_global_across_two_router_processes(infra: Infra) -> None:
    prefix = f"{infra.redis_prefix}procs:"
    at = str(start_time())
    argv = [sys.executable, WORKER, infra.redis_url, prefix, "burst", "20", at]
    try:
        procs = [
            await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE) for _ in range(2)
        ]
        outputs = [(await p.communicate())[0].decode() for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        admitted = sum(int(o.split("admitted=")[1].split()[0]) for o in outputs)
        limited = sum(int(o.split("limited=")[1].split()[0]) for o in outputs)
        assert (admitted, limited) == (25, 15), outputs  # rpm_limit 25 across both
    finally:
        await drop_keys(infra.redis_url, prefix)


async def test_a_killed_router_holds_expire_and_the_budget_recovers(infra: Infra) -> None:
    prefix = f"{infra.redis_prefix}killed:"
    argv = [sys.executable, WORKER, infra.redis_url, prefix, "hold"]
    gatekeeper = build_gatekeeper(Settings(), redis_url=infra.redis_url, prefix=prefix)
    request = AdmissionRequest(key(org_budget=1_000, period="total"), model(), 100, 200)
    proc = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.decode().strip() == "held=500"
        await gatekeeper.admit(request)  # the other 500 of the 1000 budget
        proc.kill()  # SIGKILL mid-request: it never settles
        await proc.wait()
        with pytest.raises(QuotaExceeded):
            await gatekeeper.admit(request)
        await asyncio.sleep(2.2)  # the dead router's 2 s reservation TTL
        assert (await gatekeeper.admit(request)).held_micro_usd == 500
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await gatekeeper.close()
        await drop_keys(infra.redis_url, prefix)
