"""Login reveals nothing about which emails have accounts: an unknown email costs the same
bcrypt work as a wrong password, and one address trying many emails is slowed down."""

from __future__ import annotations

import statistics
import time

from aistrale_testkit.userorg import ADMIN_EMAIL, StartApp

TOKEN = "/admin/v1/auth/token"


async def _timed(app_client: object, email: str) -> float:
    start = time.perf_counter()
    answer = await app_client.post(TOKEN, data={"username": email, "password": "wrong-pw"})  # type: ignore[attr-defined]
    assert answer.status_code == 401
    return time.perf_counter() - start


async def test_an_unknown_email_takes_as_long_as_a_wrong_password(
    start_app: StartApp, pg_url: str
) -> None:
    # Cost 10 (~60 ms): far above the request's own cost, so the comparison measures bcrypt.
    app = await start_app(
        pg_url, bcrypt_rounds=10, admin_password="root-password-123", login_max_failures=100,
        login_ip_max_failures=1000,
    )  # fmt: skip
    # The admin was created with cost 10 too (the configured one).
    known = [await _timed(app.client, ADMIN_EMAIL) for _ in range(5)]
    unknown = [await _timed(app.client, f"nobody{i}@x.test") for i in range(5)]
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.6 < ratio < 1.6, (known, unknown)


async def test_one_address_trying_many_emails_is_throttled(
    start_app: StartApp, pg_url: str
) -> None:
    app = await start_app(pg_url, login_ip_max_failures=5, login_ip_window_s=60)
    for i in range(5):
        bad = await app.client.post(TOKEN, data={"username": f"u{i}@x.test", "password": "pw"})
        assert bad.status_code == 401
    throttled = await app.client.post(TOKEN, data={"username": "u9@x.test", "password": "pw"})
    assert throttled.status_code == 429, throttled.text
    assert throttled.json()["error"]["code"] == "login_throttled"
    assert 0 < int(throttled.headers["retry-after"]) <= 60
    # The right password from that address waits too: the throttle is not an oracle either.
    right = await app.client.post(
        TOKEN, data={"username": ADMIN_EMAIL, "password": "root-password-123"}
    )
    assert right.status_code == 429
