"""The PII recognizers' validation (what separates a card from any long number) and the
template placeholder rules, without processes."""

from __future__ import annotations

import pytest

from aistrale_common.errors import ServiceUnavailable
from aistrale_common.governance.guardrails import ALL_ENTITIES
from aistrale_common.governance.templates import MalformedPlaceholder, render, variables_of
from aistrale_router.governance.pii import find, iban_ok, luhn_ok, redact
from aistrale_router.governance.sources import TtlCache


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe+x@example.co.uk now", "mail <EMAIL_ADDRESS> now"),
        (
            "card 4111-1111-1111-1111, amex 378282246310005",
            "card <CREDIT_CARD>, amex <CREDIT_CARD>",
        ),
        ("+44 20 7946 0958 or 415.555.0132", "<PHONE_NUMBER> or <PHONE_NUMBER>"),
        ("GB82WEST12345698765432", "<IBAN_CODE>"),
        ("ip 192.168.1.20 or 2001:db8::1", "ip <IP_ADDRESS> or <IP_ADDRESS>"),
        ("ssn 123-45-6789", "ssn <US_SSN>"),
        # Not PII: a non-Luhn 16-digit number, a bad IBAN checksum, an impossible IP, an
        # SSN the SSA never issues, dates, versions, decimals.
        ("4111 1111 1111 1112", "4111 1111 1111 1112"),
        ("DE89370400440532013001", "DE89370400440532013001"),
        ("999.1.1.1 and 666-12-3456", "999.1.1.1 and 666-12-3456"),
        ("v1.2.3 on 2024-01-15, 3.14159, 10:30", "v1.2.3 on 2024-01-15, 3.14159, 10:30"),
    ],
)
def test_recognizers(text: str, expected: str) -> None:
    assert redact(text, find(text, ALL_ENTITIES)) == expected


def test_only_asked_for_entities_are_found() -> None:
    text = "a@b.io and 123-45-6789"
    assert [f.entity for f in find(text, ["US_SSN"])] == ["US_SSN"]


def test_checksums() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("DE89 3704 0044 0532 0130 00") and not iban_ok("DE89 3704 0044 0532 0130 01")


def test_placeholders() -> None:
    assert variables_of(["{{a}} {{ b_2 }} {{a}}", "{{_c}}"]) == ["a", "b_2", "_c"]
    assert render("Hi {{ name }}", {"name": "{{x}}"}) == "Hi {{x}}"
    for bad in ("{{1a}}", "{{a-b}}", "{{a", "a}}", "{{}}", "{{a b}}"):
        with pytest.raises(MalformedPlaceholder):
            variables_of([bad])


async def test_the_cache_serves_its_last_answer_while_user_org_is_away() -> None:
    cache: TtlCache[str, int] = TtlCache(ttl_s=0.0)  # every get asks again
    answers: list[int | Exception] = [1, ServiceUnavailable("away"), 2]

    async def load() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert await cache.get("org", load) == 1
    assert await cache.get("org", load) == 1  # user-org away: the last answer
    assert await cache.get("org", load) == 2
    assert cache.drop(lambda k: k == "org") == 1

    async def away() -> int:
        raise ServiceUnavailable("away")

    with pytest.raises(ServiceUnavailable):  # never seen: nothing to fall back on
        await cache.get("other", away)
