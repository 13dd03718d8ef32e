"""The KEKs come from the environment (AISTRALE_CREDENTIALS_KEK[_PREVIOUS]) and nowhere else."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from aistrale_common.crypto import CredentialsSettings, Kek, keyring_from_settings


def test_keyring_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    primary, older, oldest = (Kek.generate_text() for _ in range(3))
    monkeypatch.setenv("AISTRALE_CREDENTIALS_KEK", primary)
    monkeypatch.setenv("AISTRALE_CREDENTIALS_KEK_PREVIOUS", f"{older}, {oldest}")
    settings = CredentialsSettings()
    ring = keyring_from_settings(settings)
    assert ring.primary.id == Kek.from_text(primary).id
    sealed_by_oldest = keyring_from_settings(
        CredentialsSettings(credentials_kek=SecretStr(oldest))
    ).encrypt("s", "c")
    assert ring.decrypt(sealed_by_oldest, "c") == "s"
    assert primary not in repr(settings) and older not in repr(settings)


def test_missing_kek_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AISTRALE_CREDENTIALS_KEK", raising=False)
    with pytest.raises(ValueError, match="AISTRALE_CREDENTIALS_KEK is not set"):
        keyring_from_settings(CredentialsSettings())
