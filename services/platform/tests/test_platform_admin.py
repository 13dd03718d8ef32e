"""The first admin `make run` creates: configured, or generated once and kept private."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from pydantic import SecretStr

from aistrale_platform.admin import first_admin
from aistrale_platform.settings import Settings


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings.model_validate({"data_dir": tmp_path, **values})


def test_generated_once_private_and_stable(tmp_path: Path) -> None:
    first = first_admin(_settings(tmp_path))
    again = first_admin(_settings(tmp_path))
    assert first is not None and again is not None
    assert first.email == "admin@localhost"
    assert len(first.password.get_secret_value()) >= 20
    assert again.password == first.password  # restarts log in with the same password
    path = tmp_path / "admin.json"
    assert first.stored_in == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["password"] == first.password.get_secret_value()
    other = first_admin(_settings(tmp_path / "elsewhere"))
    assert other is not None and other.password != first.password  # never a fixed one


def test_configured_credentials_win_and_are_not_stored(tmp_path: Path) -> None:
    admin = first_admin(
        _settings(tmp_path, admin_email="ops@example.com", admin_password="s3cret-from-env!")
    )
    assert admin is not None
    assert (admin.email, admin.password) == ("ops@example.com", SecretStr("s3cret-from-env!"))
    assert admin.stored_in is None
    assert not (tmp_path / "admin.json").exists()


def test_email_alone_gets_a_generated_password(tmp_path: Path) -> None:
    admin = first_admin(_settings(tmp_path, admin_email="me@example.com"))
    assert admin is not None and admin.email == "me@example.com"
    assert json.loads((tmp_path / "admin.json").read_text())["email"] == "me@example.com"


def test_no_invented_admin_outside_development(tmp_path: Path) -> None:
    secrets = {"service_token": "x" * 32, "jwt_secret": "y" * 32}
    assert first_admin(_settings(tmp_path, environment="production", **secrets)) is None
    assert not (tmp_path / "admin.json").exists()
