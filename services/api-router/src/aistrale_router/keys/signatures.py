"""HMAC request signatures, for API keys created with `require_signature`.

A signed request carries four headers (docs/security.md has a client):

    X-Aistrale-Key-Id          the key's id (as the admin API shows it)
    X-Aistrale-Timestamp       Unix seconds; within ±5 minutes of the router's clock
    X-Aistrale-Content-SHA256  hex SHA-256 of the body as sent
    X-Aistrale-Signature       hex HMAC-SHA256(signing secret,
                               "{timestamp}\\n{METHOD}\\n{path}\\n{content sha256}")

It is still sent with `Authorization: Bearer sk-…`: the signature adds that the body is
the one signed, sent recently and once. Each signature is accepted once (remembered in the
shared store, Redis in production, for as long as its timestamp is in the window). A key
without a signing secret ignores these headers.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aistrale_common.errors import AuthenticationFailed
from aistrale_common.kv import KeyValue
from aistrale_router.keys.record import KeyRecord

WINDOW_S = 300
HEADERS = (
    "x-aistrale-key-id",
    "x-aistrale-timestamp",
    "x-aistrale-content-sha256",
    "x-aistrale-signature",
)
_WANTED = frozenset(name.encode() for name in HEADERS)


@dataclass(frozen=True, slots=True)
class SignedParts:
    """What of the request the signature covers, as the front door saw it. The headers
    stay raw until a key that needs them asks (most keys never do: no cost for them)."""

    method: str
    path: str
    raw_headers: Sequence[tuple[bytes, bytes]]

    def headers(self) -> dict[str, str]:
        """The four signature headers present, by lower-cased name."""
        wanted = _WANTED
        return {k.decode(): v.decode("latin-1") for k, v in self.raw_headers if k in wanted}


def string_to_sign(timestamp: str, method: str, path: str, content_sha256: str) -> bytes:
    return f"{timestamp}\n{method.upper()}\n{path}\n{content_sha256}".encode()


def sign(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(body).hexdigest()
    message = string_to_sign(timestamp, method, path, digest)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _refuse(message: str, code: str) -> AuthenticationFailed:
    return AuthenticationFailed(message, code=code)


class SignatureCheck:
    def __init__(self, seen: KeyValue, window_s: int = WINDOW_S) -> None:
        self._seen = seen
        self._window_s = window_s

    async def verify(self, key: KeyRecord, parts: SignedParts | None, body: bytes) -> None:
        if key.signing_secret is None:
            return
        headers = parts.headers() if parts is not None else {}
        if parts is None or any(not headers.get(name) for name in HEADERS):
            raise _refuse("This API key requires signed requests", "signature_required")
        if headers["x-aistrale-key-id"] != key.key_id:
            raise _refuse("X-Aistrale-Key-Id is not this API key's id", "invalid_signature")
        self._check_time(headers["x-aistrale-timestamp"])
        digest = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(digest, headers["x-aistrale-content-sha256"].lower()):
            raise _refuse("X-Aistrale-Content-SHA256 does not match the body", "invalid_signature")
        expected = sign(key.signing_secret, headers["x-aistrale-timestamp"], parts.method,
                        parts.path, body)  # fmt: skip
        if not hmac.compare_digest(expected, headers["x-aistrale-signature"].lower()):
            raise _refuse("The request signature does not match", "invalid_signature")
        fresh = await self._seen.add(f"sig:{key.key_id}:{expected}", "1", 2 * self._window_s)
        if not fresh:
            raise _refuse("This signed request was already received", "signature_replayed")

    def _check_time(self, value: str) -> None:
        try:
            sent = int(value)
        except ValueError:
            raise _refuse(
                "X-Aistrale-Timestamp must be Unix seconds", "invalid_signature"
            ) from None
        if abs(time.time() - sent) > self._window_s:
            raise _refuse(
                f"X-Aistrale-Timestamp is more than {self._window_s} s from the server's clock",
                "signature_expired",
            )


def signed_parts(method: str, path: str, raw_headers: list[tuple[bytes, bytes]]) -> SignedParts:
    return SignedParts(method, path, raw_headers)
