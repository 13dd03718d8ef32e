"""Envelope encryption: each secret gets its own random data key (DEK), the DEK is
wrapped by a key-encryption key (KEK) from the environment, and only wrapped DEKs and
ciphertexts are stored.

    sealed = "v1.<kek id>.<wrapped DEK>.<nonce>.<ciphertext>"   (base64url parts)

Both layers are AES-256-GCM. The payload is bound to a caller-chosen context (say
"org:<id>/provider:anthropic") as associated data, so a ciphertext copied onto another
row does not decrypt. Rotating the KEK re-wraps the 32-byte DEKs only: payload
ciphertexts never change, and a key ring that holds the new and the previous KEKs reads
both generations while the rotation job runs — no downtime.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
_PAYLOAD_AAD = b"aistrale/credential/v1|"
_DEK_AAD = b"aistrale/dek/v1|"


class CredentialDecryptError(ValueError):
    """Tampered, truncated, wrong context, or sealed under a KEK this ring does not hold."""


class Kek:
    """A key-encryption key. Its bytes never appear in repr/str; its id is a fingerprint."""

    __slots__ = ("_aead", "id")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a KEK must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)
        self.id = hashlib.sha256(b"aistrale-kek-id|" + key).hexdigest()[:16]

    @classmethod
    def from_text(cls, text: str) -> Kek:
        """A KEK as written in AISTRALE_CREDENTIALS_KEK: 32 bytes, base64 (url-safe or not)."""
        cleaned = text.strip().replace("+", "-").replace("/", "_")
        try:
            key = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
        except ValueError:
            raise ValueError("AISTRALE_CREDENTIALS_KEK is not base64") from None
        return cls(key)

    @staticmethod
    def generate_text() -> str:
        """A fresh KEK in the form `from_text` reads (for operators and tests)."""
        return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()

    def wrap(self, dek: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, dek, _DEK_AAD + self.id.encode())

    def unwrap(self, wrapped: bytes) -> bytes:
        nonce, body = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, body, _DEK_AAD + self.id.encode())
        except InvalidTag:
            raise CredentialDecryptError("the data key does not unwrap under this KEK") from None

    def __repr__(self) -> str:
        return f"Kek(id={self.id!r})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Sealed:
    kek_id: str
    wrapped_dek: bytes
    nonce: bytes
    ciphertext: bytes

    def encode(self) -> str:
        parts = (self.wrapped_dek, self.nonce, self.ciphertext)
        return ".".join([VERSION, self.kek_id, *(_b64(p) for p in parts)])

    @classmethod
    def decode(cls, text: str) -> Sealed:
        pieces = text.split(".")
        if len(pieces) != 5 or pieces[0] != VERSION:
            raise CredentialDecryptError("not a v1 sealed credential")
        try:
            wrapped, nonce, ciphertext = (_unb64(p) for p in pieces[2:])
        except ValueError:
            raise CredentialDecryptError("sealed credential is not base64") from None
        return cls(pieces[1], wrapped, nonce, ciphertext)


class KeyRing:
    """The primary KEK seals; the primary and any previous KEKs open."""

    def __init__(self, primary: Kek, previous: Sequence[Kek] = ()) -> None:
        self.primary = primary
        self._keks = {k.id: k for k in (*previous, primary)}

    def encrypt(self, plaintext: str | bytes, context: str) -> str:
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        dek, nonce = AESGCM.generate_key(bit_length=256), os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(dek).encrypt(nonce, data, _PAYLOAD_AAD + context.encode())
        return Sealed(self.primary.id, self.primary.wrap(dek), nonce, ciphertext).encode()

    def decrypt(self, sealed: str, context: str) -> str:
        box = Sealed.decode(sealed)
        dek = self._kek(box.kek_id).unwrap(box.wrapped_dek)
        try:
            data = AESGCM(dek).decrypt(box.nonce, box.ciphertext, _PAYLOAD_AAD + context.encode())
        except (InvalidTag, ValueError):
            raise CredentialDecryptError("credential ciphertext failed authentication") from None
        return data.decode()

    def needs_rotation(self, sealed: str) -> bool:
        return Sealed.decode(sealed).kek_id != self.primary.id

    def rotate(self, sealed: str) -> str:
        """Re-wraps the data key under the primary KEK; the payload ciphertext is kept."""
        box = Sealed.decode(sealed)
        if box.kek_id == self.primary.id:
            return sealed
        dek = self._kek(box.kek_id).unwrap(box.wrapped_dek)
        return Sealed(self.primary.id, self.primary.wrap(dek), box.nonce, box.ciphertext).encode()

    def _kek(self, kek_id: str) -> Kek:
        kek = self._keks.get(kek_id)
        if kek is None:
            raise CredentialDecryptError(f"sealed under KEK {kek_id}, which is not configured")
        return kek

    def __repr__(self) -> str:
        return f"KeyRing(primary={self.primary.id!r}, keks={sorted(self._keks)!r})"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
