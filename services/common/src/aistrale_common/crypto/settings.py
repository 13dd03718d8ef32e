"""Where the key-encryption keys come from: the environment, through pydantic-settings.

AISTRALE_CREDENTIALS_KEK           the primary KEK (32 bytes, base64)
AISTRALE_CREDENTIALS_KEK_PREVIOUS  comma-separated older KEKs, kept while rotating
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from aistrale_common.crypto.envelope import Kek, KeyRing
from aistrale_common.settings import local_secret


class CredentialsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AISTRALE_", extra="ignore")

    credentials_kek: SecretStr | None = Field(default=None, repr=False)
    credentials_kek_previous: SecretStr | None = Field(default=None, repr=False)


def keyring_from_settings(settings: CredentialsSettings) -> KeyRing:
    """Refuses to start without a KEK: a generated one would lose every secret on restart."""
    if settings.credentials_kek is None or not settings.credentials_kek.get_secret_value():
        raise ValueError(
            "AISTRALE_CREDENTIALS_KEK is not set; generate one with "
            "`python -c 'from aistrale_common.crypto import Kek; print(Kek.generate_text())'`"
        )
    primary = Kek.from_text(settings.credentials_kek.get_secret_value())
    previous_text = settings.credentials_kek_previous
    previous = previous_text.get_secret_value().split(",") if previous_text else []
    return KeyRing(primary, [Kek.from_text(t) for t in previous if t.strip()])


def service_keyring(kek: SecretStr | None, previous: SecretStr | None, data_dir: Path) -> KeyRing:
    """A service's KEKs; without one (development and test only: each service's settings
    refuse a missing KEK in staging and production) a generated one, persisted under
    data_dir so that restarts agree."""
    if kek is None:
        kek = SecretStr(local_secret(data_dir, "credentials_kek"))
    return keyring_from_settings(
        CredentialsSettings(credentials_kek=kek, credentials_kek_previous=previous)
    )
