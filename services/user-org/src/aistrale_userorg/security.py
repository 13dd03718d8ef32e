"""Secrets: API keys, admin keys, refresh tokens and passwords.

Only hashes are stored. API keys are `sk-` + 256 random bits; lookups are by SHA-256 (a
fast hash is right for high-entropy secrets). Passwords use bcrypt over a SHA-256 pre-hash
so that passwords longer than bcrypt's 72-byte limit are neither truncated nor refused.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets

import bcrypt

API_KEY_PREFIX = "sk-"
ADMIN_KEY_PREFIX = "ak-"
REFRESH_PREFIX = "rt-"
INVITATION_PREFIX = "inv-"
SIGNING_PREFIX = "ss-"
DISPLAY_CHARS = 10  # "sk-" plus 7 characters: enough to recognise a key, useless to guess it


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)  # 32 bytes = 256 bits


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    return secret[:DISPLAY_CHARS]


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def hash_password_sync(password: str, rounds: int) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()


async def hash_password(password: str, rounds: int) -> str:
    # bcrypt is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(hash_password_sync, password, rounds)


@functools.cache
def dummy_hash(rounds: int) -> bytes:
    """Checked when the email is unknown, at the configured cost, so that failing on an
    unknown user takes as long as failing on a known one (no account oracle)."""
    return bcrypt.hashpw(b"dummy", bcrypt.gensalt(rounds))


async def verify_password(password: str, hashed: str | None, rounds: int) -> bool:
    target = hashed.encode() if hashed else dummy_hash(rounds)
    ok = await asyncio.to_thread(bcrypt.checkpw, _prehash(password), target)
    return ok and hashed is not None


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
