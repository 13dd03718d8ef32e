"""PII detection: pattern recognizers with the validation Presidio's own recognizers apply
(Luhn for cards, ISO 7064 mod-97 for IBANs, address parsing for IPs, the numbers the SSA
never issues for SSNs), without Presidio's NLP engine (docs/decisions/router-pii-detector.md).

Entity names are Presidio's. Findings that overlap are resolved by PRIORITY: a card number
is not also a phone number.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from aistrale_common.governance.guardrails import PiiEntity

DIGITS = "0123456789"


@dataclass(frozen=True, slots=True)
class Finding:
    entity: PiiEntity
    start: int
    end: int


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _card_ok(text: str) -> bool:
    digits = re.sub(r"[ -]", "", text)
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


def _ssn_ok(text: str) -> bool:
    area, group, serial = text[:3], text[4:6], text[7:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _ip_ok(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _phone_ok(text: str) -> bool:
    return 7 <= sum(ch.isdigit() for ch in text) <= 15


def _any(_: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Recognizer:
    entity: PiiEntity
    pattern: re.Pattern[str]
    valid: Callable[[str], bool]
    needs: str  # the text must hold one of these characters for the pattern to match


_B = r"(?<![\w@.+])"  # not glued to a word, an address or a dotted number
_E = r"(?![\w@]|\.\w)"
_CARD = _B + r"\d(?:[ -]?\d){12,18}" + _E
_IBAN = r"(?<!\w)[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?!\w)"
_SSN = _B + r"\d{3}([- .])\d{2}\1\d{4}" + _E
_EMAIL = r"(?<![\w.+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
_IPV4 = _B + r"(?:\d{1,3}\.){3}\d{1,3}" + _E
_IPV6 = r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"
# International (+country, 7-15 digits), or North American (3-3-4): a date (4-2-2) or a
# refused SSN (3-2-4) is not a phone number.
_PHONE = (
    _B
    + r"(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"
    + r"|(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4})"
    + _E
)
RECOGNIZERS: tuple[Recognizer, ...] = (
    Recognizer("CREDIT_CARD", re.compile(_CARD), _card_ok, DIGITS),
    Recognizer("IBAN_CODE", re.compile(_IBAN), iban_ok, DIGITS),
    Recognizer("US_SSN", re.compile(_SSN), _ssn_ok, "-. "),
    Recognizer("EMAIL_ADDRESS", re.compile(_EMAIL), _any, "@"),
    Recognizer("IP_ADDRESS", re.compile(_IPV4 + "|" + _IPV6), _ip_ok, ".:"),
    Recognizer("PHONE_NUMBER", re.compile(_PHONE), _phone_ok, DIGITS),
)
PRIORITY: dict[PiiEntity, int] = {r.entity: i for i, r in enumerate(RECOGNIZERS)}


def find(text: str, entities: Collection[PiiEntity]) -> list[Finding]:
    """Every finding of the asked-for types, in text order, none overlapping another."""
    found: list[Finding] = []
    for recognizer in RECOGNIZERS:
        if recognizer.entity not in entities:
            continue
        if not any(ch in text for ch in recognizer.needs):
            continue
        for match in recognizer.pattern.finditer(text):
            if recognizer.valid(match.group(0)):
                found.append(Finding(recognizer.entity, match.start(), match.end()))
    return _without_overlaps(found) if len(found) > 1 else found


def _without_overlaps(found: Iterable[Finding]) -> list[Finding]:
    kept: list[Finding] = []
    # Higher priority first, then longer: a card beats the phone number inside it.
    for f in sorted(found, key=lambda f: (PRIORITY[f.entity], f.start - f.end)):
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


def redact(text: str, findings: Iterable[Finding]) -> str:
    """Each finding replaced by `<ENTITY_TYPE>`; findings must not overlap."""
    out, last = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        out.append(text[last : f.start])
        out.append(f"<{f.entity}>")
        last = f.end
    out.append(text[last:])
    return "".join(out)
