"""Envelope encryption for secrets at rest (provider credentials): see envelope.py."""

from aistrale_common.crypto.envelope import (
    CredentialDecryptError,
    Kek,
    KeyRing,
    Sealed,
)
from aistrale_common.crypto.settings import (
    CredentialsSettings,
    keyring_from_settings,
    service_keyring,
)

__all__ = [
    "CredentialDecryptError",
    "CredentialsSettings",
    "Kek",
    "KeyRing",
    "Sealed",
    "keyring_from_settings",
    "service_keyring",
]
