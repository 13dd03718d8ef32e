"""Envelope encryption of provider credentials: round trip, binding, tamper detection,
KEK rotation that re-wraps data keys only, and keys that never show up in text."""

from __future__ import annotations

import base64
import dataclasses
import io
import logging

import pytest

from aistrale_common.crypto import CredentialDecryptError, Kek, KeyRing, Sealed

CONTEXT = "org:7/provider:anthropic"
SECRET = "sk-ant-api03-very-secret-value"


@pytest.fixture
def old() -> Kek:
    return Kek.from_text(Kek.generate_text())


@pytest.fixture
def new() -> Kek:
    return Kek.from_text(Kek.generate_text())


def test_round_trip_and_fresh_randomness(old: Kek) -> None:
    ring = KeyRing(old)
    first, second = ring.encrypt(SECRET, CONTEXT), ring.encrypt(SECRET, CONTEXT)
    assert first != second  # fresh data key and nonce each time
    assert ring.decrypt(first, CONTEXT) == ring.decrypt(second, CONTEXT) == SECRET
    assert SECRET not in first and Sealed.decode(first).kek_id == old.id


def test_context_binds_the_ciphertext_to_its_row(old: Kek) -> None:
    ring = KeyRing(old)
    sealed = ring.encrypt(SECRET, CONTEXT)
    with pytest.raises(CredentialDecryptError):
        ring.decrypt(sealed, "org:8/provider:anthropic")


@pytest.mark.parametrize("field", ["wrapped_dek", "nonce", "ciphertext"])
def test_any_flipped_bit_is_detected(old: Kek, field: str) -> None:
    ring = KeyRing(old)
    box = Sealed.decode(ring.encrypt(SECRET, CONTEXT))
    value = bytearray(getattr(box, field))
    value[len(value) // 2] ^= 0x01
    changes: dict[str, bytes] = {field: bytes(value)}
    tampered = dataclasses.replace(box, **changes).encode()  # type: ignore[arg-type]
    with pytest.raises(CredentialDecryptError):
        ring.decrypt(tampered, CONTEXT)


@pytest.mark.parametrize("text", ["", "v2.a.b.c.d", "v1.only.four.parts", "v1.x.!!.??.**"])
def test_malformed_values_are_refused(old: Kek, text: str) -> None:
    with pytest.raises(CredentialDecryptError):
        KeyRing(old).decrypt(text, CONTEXT)


def test_a_different_kek_cannot_open(old: Kek, new: Kek) -> None:
    sealed = KeyRing(old).encrypt(SECRET, CONTEXT)
    with pytest.raises(CredentialDecryptError, match="not configured"):
        KeyRing(new).decrypt(sealed, CONTEXT)
    # Even when an attacker relabels the value with the new KEK's id, unwrap fails.
    relabelled = dataclasses.replace(Sealed.decode(sealed), kek_id=new.id).encode()
    with pytest.raises(CredentialDecryptError):
        KeyRing(new).decrypt(relabelled, CONTEXT)


def test_rotation_rewraps_data_keys_without_touching_payloads(old: Kek, new: Kek) -> None:
    stored = [KeyRing(old).encrypt(f"{SECRET}-{i}", f"org:{i}") for i in range(5)]
    during = KeyRing(new, previous=[old])  # what every replica runs while rotating
    assert all(during.decrypt(s, f"org:{i}") == f"{SECRET}-{i}" for i, s in enumerate(stored))
    assert all(during.needs_rotation(s) for s in stored)
    rotated = [during.rotate(s) for s in stored]
    for before, after in zip(stored, rotated, strict=True):
        b, a = Sealed.decode(before), Sealed.decode(after)
        assert (a.nonce, a.ciphertext) == (b.nonce, b.ciphertext)
        assert a.kek_id == new.id and a.wrapped_dek != b.wrapped_dek
    after_rotation = KeyRing(new)  # the old KEK can now be dropped
    assert [after_rotation.decrypt(s, f"org:{i}") for i, s in enumerate(rotated)] == [
        f"{SECRET}-{i}" for i in range(5)
    ]
    assert during.rotate(rotated[0]) == rotated[0]  # idempotent: safe to re-run the job
    with pytest.raises(CredentialDecryptError):
        KeyRing(old).decrypt(rotated[0], "org:0")


def test_kek_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Kek.from_text(base64.b64encode(b"short").decode())


def test_standard_base64_is_accepted_too() -> None:
    raw = bytes(range(250, 256)) * 5 + b"ab"
    assert Kek.from_text(base64.b64encode(raw).decode()).id == Kek(raw).id


def test_keys_and_secrets_never_appear_in_text(old: Kek, new: Kek) -> None:
    text = Kek.generate_text()
    kek = Kek.from_text(text)
    ring = KeyRing(kek, previous=[old])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("test_crypto_envelope")
    logger.addHandler(handler)
    try:
        logger.warning("ring=%s kek=%r sealed=%s", ring, kek, ring.encrypt(SECRET, CONTEXT))
    finally:
        logger.removeHandler(handler)
    shown = stream.getvalue() + repr(ring) + str(kek)
    assert text not in shown and text.rstrip("=") not in shown and SECRET not in shown
    assert kek.id in shown
