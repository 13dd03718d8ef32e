"""The first platform admin for `make run`, so a fresh clone can log in at once.

AISTRALE_ADMIN_EMAIL / AISTRALE_ADMIN_PASSWORD win when set. Otherwise, in development only,
admin@localhost gets a random password generated once and kept in <data_dir>/admin.json
(mode 0600), so restarts agree with the account user-org already created. No password is
ever fixed in the code or in git.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from aistrale_platform.settings import Settings

DEFAULT_EMAIL = "admin@localhost"
FILE_NAME = "admin.json"


@dataclass(frozen=True)
class AdminCredentials:
    email: str
    password: SecretStr
    stored_in: Path | None  # where the generated password is kept; None when configured


def first_admin(settings: Settings) -> AdminCredentials | None:
    """None outside development when nothing is configured: never invent an admin there."""
    if settings.admin_email and settings.admin_password:
        return AdminCredentials(settings.admin_email, settings.admin_password, None)
    if settings.environment != "development":
        return None
    path = settings.data_dir / FILE_NAME
    stored = _read(path)
    email = settings.admin_email or stored.get("email") or DEFAULT_EMAIL
    password = stored.get("password") if stored.get("email") == email else None
    if password is None:
        password = secrets.token_urlsafe(18)
        _write(path, {"email": email, "password": password})
    return AdminCredentials(email, SecretStr(password), path)


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    loaded = json.loads(path.read_text())
    return {k: v for k, v in loaded.items() if isinstance(v, str)}


def _write(path: Path, content: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # Created 0600 from the start: the password is never readable by others, not even briefly.
    tmp.unlink(missing_ok=True)
    tmp.touch(mode=0o600)
    tmp.write_text(json.dumps(content))
    tmp.replace(path)
