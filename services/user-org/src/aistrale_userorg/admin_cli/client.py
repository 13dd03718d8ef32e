"""The CLI's HTTP side: the admin API with a saved session that refreshes itself."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CliSettings(BaseSettings):
    """AISTRALE_URL picks the platform; without it, AISTRALE_PORT on this machine (the port
    `make run` serves on). The session file lives under AISTRALE_CLI_HOME."""

    model_config = SettingsConfigDict(env_prefix="AISTRALE_", extra="ignore")

    url: str | None = None
    port: int = Field(default=8080, gt=0, lt=65536)
    cli_home: Path = Field(default_factory=lambda: Path.home() / ".config" / "aistrale")

    @property
    def base_url(self) -> str:
        return self.url or f"http://127.0.0.1:{self.port}"


class CliError(Exception):
    """An answer the user should read: the API's error message, or what to do next."""


class Unreachable(CliError):
    """Nothing answers at the platform's URL: one line says where we looked, no traceback."""

    def __init__(self, url: str, cause: httpx.TransportError) -> None:
        reason = type(cause).__name__.removesuffix("Error").lower() or "error"
        super().__init__(
            f"nothing answers at {url} ({reason}). Is the platform running (`make run`)? "
            "Set AISTRALE_URL, or AISTRALE_PORT for another local port."
        )


@dataclass
class Session:
    url: str
    access_token: str
    refresh_token: str | None


class SessionStore:
    def __init__(self, home: Path) -> None:
        self.path = home / "session.json"

    def load(self) -> Session | None:
        if not self.path.exists():
            return None
        return Session(**json.loads(self.path.read_text()))

    def save(self, session: Session) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        # Created private before any secret is written into it.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(session.__dict__, out)
        tmp.replace(self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        error = response.json()["error"]
        message = error["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text or response.reason_phrase
    raise CliError(f"{response.status_code}: {message}")


class AdminClient:
    def __init__(self, settings: CliSettings, transport: httpx.BaseTransport | None = None) -> None:
        self.store = SessionStore(settings.cli_home)
        self.session = self.store.load()
        base = self.session.url if self.session else settings.base_url
        self.http = httpx.Client(base_url=base, transport=transport, timeout=30.0)

    def _http(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(str(self.http.base_url).rstrip("/"), exc) from exc

    def login(self, form: dict[str, str]) -> Session:
        response = self._http("POST", "/admin/v1/auth/token", data=form)
        _raise_for(response)
        body = response.json()
        self.session = Session(
            str(self.http.base_url), body["access_token"], body.get("refresh_token")
        )
        self.store.save(self.session)
        return self.session

    def logout(self) -> None:
        if self.session and self.session.refresh_token:
            self._http(
                "POST", "/admin/v1/auth/logout", json={"refresh_token": self.session.refresh_token}
            )
        self.store.clear()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        if self.session is None:
            raise CliError("Not signed in: run `aistrale login` first")
        response = self._send(method, path, **kwargs)
        if response.status_code == 401 and self._refresh():
            response = self._send(method, path, **kwargs)
        _raise_for(response)
        return response.json() if response.content else None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        assert self.session is not None
        headers = {"authorization": f"Bearer {self.session.access_token}"}
        return self._http(method, path, headers=headers, **kwargs)

    def _refresh(self) -> bool:
        if self.session is None or not self.session.refresh_token:
            return False
        form = {"grant_type": "refresh_token", "refresh_token": self.session.refresh_token}
        try:
            self.login(form)
        except CliError:
            return False
        return True
