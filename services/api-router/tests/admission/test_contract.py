"""The admission contract, run on Redis and on the in-process store alike."""

from __future__ import annotations

import pytest

from aistrale_common.budget_counters import scope_key
from aistrale_common.errors import QuotaExceeded, RateLimited
from aistrale_router.admission import AdmissionRequest, Settlement, cost_micro_usd
from aistrale_testkit.router.admission import Harness, key, model

ORG_DAY = "d20261118"


def spend_key(h: Harness, scope: str, scope_id: str, label: str = ORG_DAY) -> str:
    return f"{scope_key(f'{h.prefix}{{o1}}:', scope, scope_id)}:s:{label}"


def ask(record=None, *, prompt: int = 100, max_tokens: int | None = 200, **model_kw):  # type: ignore[no-untyped-def]
    return AdmissionRequest(
        key=record or key(), model=model(**model_kw), prompt_tokens=prompt, max_tokens=max_tokens
    )


async def test_admits_in_full_when_the_budget_pays_the_worst_case(harness: Harness) -> None:
    admission = await harness.gatekeeper.admit(ask(key(org_budget=10_000)))
    assert admission.max_tokens == 200
    assert admission.held_micro_usd == 100 + 400  # 100 prompt x 1 + 200 out x 2


async def test_implicit_max_tokens_becomes_the_models_maximum(harness: Harness) -> None:
    admission = await harness.gatekeeper.admit(ask(key(org_budget=10_000), max_tokens=None))
    assert admission.max_tokens == 200  # sent upstream: generation is always bounded
    assert admission.held_micro_usd == 100 + 2 * 200  # the model's max output


async def test_lowers_max_tokens_to_what_the_budget_can_pay(harness: Harness) -> None:
    admission = await harness.gatekeeper.admit(ask(key(org_budget=301)))
    assert admission.max_tokens == 100  # (301 - 100) // 2
    assert admission.held_micro_usd == 300
    second = ask(key(org_budget=301), max_tokens=None)
    with pytest.raises(QuotaExceeded) as refused:
        await harness.gatekeeper.admit(second)
    assert refused.value.status == 429 and refused.value.instance_code == "insufficient_quota"
    assert int(refused.value.headers["Retry-After"]) == 46_400  # until the next UTC midnight


async def test_refuses_below_the_minimal_request(harness: Harness) -> None:
    # 100 prompt + 15 tokens is below the 16-token minimum: nothing useful can be paid for.
    with pytest.raises(QuotaExceeded):
        await harness.gatekeeper.admit(ask(key(org_budget=130)))
    admission = await harness.gatekeeper.admit(ask(key(org_budget=132)))
    assert admission.max_tokens == 16


async def test_the_tighter_of_key_and_org_budget_applies(harness: Harness) -> None:
    record = key(org_budget=100_000, key_budget=700)
    first = await harness.gatekeeper.admit(ask(record))
    second = await harness.gatekeeper.admit(ask(record))
    assert (first.max_tokens, second.max_tokens) == (200, 50)  # 700 - 500 = 200 = 100 + 2 x 50
    other_key = key(key_id="k2", org_budget=100_000, key_budget=700)
    assert (await harness.gatekeeper.admit(ask(other_key))).max_tokens == 200


async def test_settle_releases_the_hold_and_records_the_real_cost(harness: Harness) -> None:
    record = key(org_budget=1_000)
    admission = await harness.gatekeeper.admit(ask(record))
    cost = cost_micro_usd(model().pricing, 100, 50)
    await harness.gatekeeper.settle(admission, Settlement(100, 50, cost))
    assert await harness.read(spend_key(harness, "org", "o1")) == 200
    assert await harness.read(spend_key(harness, "key", "k1")) == 200  # tracked without a rule
    assert await harness.read(spend_key(harness, "org", "o1", "m202611")) == 200
    assert await harness.read(spend_key(harness, "org", "o1", "t")) == 200
    admission = await harness.gatekeeper.admit(ask(record, max_tokens=None))
    assert admission.max_tokens == 200  # 800 left pays 100 + 2 x 200 again


async def test_free_models_hold_nothing(harness: Harness) -> None:
    admission = await harness.gatekeeper.admit(ask(key(org_budget=1), price_in=0, price_out=0))
    assert admission.held_micro_usd == 0 and admission.max_tokens == 200


async def test_key_rpm_refuses_with_retry_after_and_headers(harness: Harness) -> None:
    record = key(rpm_limit=2)
    first = await harness.gatekeeper.admit(ask(record))
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert first.headers["x-ratelimit-reset-requests"] == "20s"  # 11:06:40 -> 11:07:00
    await harness.gatekeeper.admit(ask(record))
    with pytest.raises(RateLimited) as refused:
        await harness.gatekeeper.admit(ask(record))
    assert refused.value.instance_code == "rate_limit_exceeded"
    assert refused.value.headers["Retry-After"] == "20"
    assert refused.value.headers["x-ratelimit-remaining-requests"] == "0"
    harness.clock.now += 20
    assert (await harness.gatekeeper.admit(ask(record))).headers[
        "x-ratelimit-remaining-requests"
    ] == "1"


async def test_org_rpm_is_shared_by_the_org_keys(harness: Harness) -> None:
    await harness.gatekeeper.admit(ask(key(key_id="a", org_rpm_limit=2, rpm_limit=5)))
    second = await harness.gatekeeper.admit(ask(key(key_id="b", org_rpm_limit=2, rpm_limit=5)))
    assert second.headers["x-ratelimit-remaining-requests"] == "0"  # the tighter: the org's
    with pytest.raises(RateLimited):
        await harness.gatekeeper.admit(ask(key(key_id="c", org_rpm_limit=2)))


async def test_a_refused_request_consumes_nothing(harness: Harness) -> None:
    record = key(rpm_limit=10, org_budget=130)
    with pytest.raises(QuotaExceeded):
        await harness.gatekeeper.admit(ask(record))
    allowed = await harness.gatekeeper.admit(ask(key(rpm_limit=10)))
    assert allowed.headers["x-ratelimit-remaining-requests"] == "9"


async def test_tpm_refuses_an_explicit_max_tokens_and_lowers_an_implicit_one(
    harness: Harness,
) -> None:
    record = key(tpm_limit=500)
    first = await harness.gatekeeper.admit(ask(record))  # 300 tokens counted
    assert first.headers["x-ratelimit-remaining-tokens"] == "200"
    with pytest.raises(RateLimited) as refused:
        await harness.gatekeeper.admit(ask(record))
    assert refused.value.headers["x-ratelimit-reset-tokens"] == "20s"
    lowered = await harness.gatekeeper.admit(ask(record, max_tokens=None))
    assert lowered.max_tokens == 100


async def test_settle_corrects_the_token_window_to_real_usage(harness: Harness) -> None:
    record = key(tpm_limit=600)
    admission = await harness.gatekeeper.admit(ask(record))  # 300 counted
    await harness.gatekeeper.settle(admission, Settlement(100, 20, 140))  # 120 used
    after = await harness.gatekeeper.admit(ask(record))
    assert after.headers["x-ratelimit-remaining-tokens"] == str(600 - 120 - 300)


async def test_raised_budget_takes_effect_on_the_next_request(harness: Harness) -> None:
    in_flight = await harness.gatekeeper.admit(ask(key(org_budget=500)))
    with pytest.raises(QuotaExceeded):
        await harness.gatekeeper.admit(ask(key(org_budget=500)))
    # user-org raised the budget: the router sees a fresh KeyRecord; nothing is cached.
    raised = await harness.gatekeeper.admit(ask(key(org_budget=1_000)))
    assert raised.max_tokens == 200
    await harness.gatekeeper.settle(in_flight, Settlement(100, 200, 500))
    await harness.gatekeeper.settle(raised, Settlement(100, 200, 500))
    with pytest.raises(QuotaExceeded):
        await harness.gatekeeper.admit(ask(key(org_budget=1_000)))
    lowered = key(org_budget=600)  # lowered below the spend: refused, never negative holds
    with pytest.raises(QuotaExceeded):
        await harness.gatekeeper.admit(ask(lowered))


async def test_day_budget_rolls_over_at_utc_midnight(harness: Harness) -> None:
    record = key(org_budget=500, period="day")
    admission = await harness.gatekeeper.admit(ask(record))
    await harness.gatekeeper.settle(admission, Settlement(100, 200, 500))
    harness.clock.now += 46_399  # 23:59:59 the same day
    with pytest.raises(QuotaExceeded):
        await harness.gatekeeper.admit(ask(record))
    harness.clock.now += 1  # 00:00:00 UTC the next day
    assert (await harness.gatekeeper.admit(ask(record))).max_tokens == 200


async def test_month_budget_rolls_over_on_the_first(harness: Harness) -> None:
    record = key(org_budget=500, period="month")
    admission = await harness.gatekeeper.admit(ask(record))
    await harness.gatekeeper.settle(admission, Settlement(100, 200, 500))
    harness.clock.now += 12 * 86_400  # 2026-11-30, still November
    with pytest.raises(QuotaExceeded) as refused:
        await harness.gatekeeper.admit(ask(record))
    assert int(refused.value.headers["Retry-After"]) == 46_400  # until 2026-12-01 00:00 UTC
    harness.clock.now += 46_400
    assert (await harness.gatekeeper.admit(ask(record))).max_tokens == 200


async def test_total_budget_never_rolls_over(harness: Harness) -> None:
    record = key(org_budget=500, period="total")
    admission = await harness.gatekeeper.admit(ask(record))
    await harness.gatekeeper.settle(admission, Settlement(100, 200, 500))
    harness.clock.now += 400 * 86_400
    with pytest.raises(QuotaExceeded):
        await harness.gatekeeper.admit(ask(record))


async def test_budget_switched_to_month_counts_the_month_spend(harness: Harness) -> None:
    admission = await harness.gatekeeper.admit(ask(key(org_budget=10_000, period="day")))
    await harness.gatekeeper.settle(admission, Settlement(100, 200, 500))
    harness.clock.now += 86_400  # a new day, the same month
    monthly = await harness.gatekeeper.admit(ask(key(org_budget=800, period="month")))
    assert monthly.max_tokens == 100  # 800 - 500 already spent this month = 100 + 2 x 100


async def test_unsettled_reservations_expire_and_the_budget_recovers(harness: Harness) -> None:
    record = key(org_budget=1_000)
    await harness.gatekeeper.admit(ask(record))
    await harness.gatekeeper.admit(ask(record))  # both holds: a router died, never settling
    with pytest.raises(QuotaExceeded):
        await harness.gatekeeper.admit(ask(record))
    harness.clock.now += 599
    with pytest.raises(QuotaExceeded):
        await harness.gatekeeper.admit(ask(record))
    harness.clock.now += 2  # past the 600 s reservation TTL
    assert (await harness.gatekeeper.admit(ask(record))).max_tokens == 200


async def test_a_late_settlement_still_records_the_spend(harness: Harness) -> None:
    record = key(org_budget=1_000)
    admission = await harness.gatekeeper.admit(ask(record))
    harness.clock.now += 601
    await harness.gatekeeper.admit(ask(record, max_tokens=1))  # reclaims the expired hold
    await harness.gatekeeper.settle(admission, Settlement(100, 200, 500))
    assert await harness.read(spend_key(harness, "org", "o1")) == 500


async def test_stream_within_its_hold_needs_no_extension(harness: Harness) -> None:
    admission = await harness.gatekeeper.admit(ask(key(org_budget=500)))
    assert await harness.gatekeeper.check_stream(admission, 100, 200)
    assert not await harness.gatekeeper.check_stream(admission, 100, 201)  # budget is all held


async def test_stream_past_its_hold_extends_while_the_budget_pays(harness: Harness) -> None:
    record = key(org_budget=1_000)
    admission = await harness.gatekeeper.admit(ask(record))  # holds 500
    # The real prompt was 150, not 100: 50 more must be held to go on.
    assert await harness.gatekeeper.check_stream(admission, 150, 180)
    assert await harness.gatekeeper.check_stream(admission, 150, 300)  # 750 <= 1000
    # Held so far: 500 + 138 (to 244 tokens) + 240 (to 364 tokens) = 878; 122 left.
    assert not await harness.gatekeeper.check_stream(admission, 150, 426)  # 1002 > 1000
    rest = await harness.gatekeeper.admit(ask(record, prompt=0, max_tokens=None))
    assert rest.max_tokens == 61 and rest.held_micro_usd == 122
    await harness.gatekeeper.settle(rest, Settlement(0, 0, 0))
    await harness.gatekeeper.settle(admission, Settlement(150, 426, 1_002))
    assert await harness.read(spend_key(harness, "org", "o1")) == 1_002


async def test_a_long_stream_keeps_its_reservation_alive(harness: Harness) -> None:
    record = key(org_budget=500)
    admission = await harness.gatekeeper.admit(ask(record))
    for _ in range(4):  # 4 x 200 s: longer than the 600 s TTL, chunks keep flowing
        harness.clock.now += 200
        assert await harness.gatekeeper.check_stream(admission, 100, 10)
    with pytest.raises(QuotaExceeded):  # the hold is still there
        await harness.gatekeeper.admit(ask(record))


def ask_n(record: object, choices: int, max_tokens: int | None = 200) -> AdmissionRequest:
    assert record is not None
    return AdmissionRequest(
        key=record,  # type: ignore[arg-type]
        model=model(),
        prompt_tokens=100,
        max_tokens=max_tokens,
        choices=choices,
    )


async def test_every_choice_is_reserved(harness: Harness) -> None:
    """n (or best_of) completions of max_tokens each: the worst case is n times the output."""
    admission = await harness.gatekeeper.admit(ask_n(key(org_budget=10_000), choices=4))
    assert admission.max_tokens == 200
    assert admission.held_micro_usd == 100 + 4 * 200 * 2
    assert admission.reserved_tokens == 100 + 4 * 200


async def test_max_tokens_is_lowered_per_choice(harness: Harness) -> None:
    # 100 prompt + 4 choices x 2 x 50 = 500: each choice gets 50 tokens.
    admission = await harness.gatekeeper.admit(ask_n(key(org_budget=500), choices=4))
    assert admission.max_tokens == 50 and admission.held_micro_usd == 500
    with pytest.raises(QuotaExceeded):  # 16 tokens x 1000 choices cannot be paid
        await harness.gatekeeper.admit(ask_n(key(org_budget=20_000), choices=1000, max_tokens=16))


async def test_token_windows_count_every_choice(harness: Harness) -> None:
    record = key(tpm_limit=500)
    first = await harness.gatekeeper.admit(ask_n(record, choices=3, max_tokens=None))
    assert first.max_tokens == 133  # (500 - 100) // 3
    assert first.headers["x-ratelimit-remaining-tokens"] == "1"
    with pytest.raises(RateLimited):  # explicit max_tokens: refused, not lowered
        await harness.gatekeeper.admit(ask_n(key(key_id="k2", tpm_limit=1_000), 5))
    await harness.gatekeeper.settle(first, Settlement(100, 3 * 10, 130))
    window = harness.gatekeeper.plan(ask_n(record, 3)).windows[0].key  # corrected:
    assert await harness.read(window) == 130
