"""Where the key-encryption keys come from: the environment, through pydantic-settings.

AISTRALE_CREDENTIALS_KEK           the primary KEK (32 bytes, base64)
AISTRALE_CREDENTIALS_KEK_PREVIOUS  comma-separated older KEKs, kept while rotating
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from aistrale_common.crypto.envelope import Kek, KeyRing


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
