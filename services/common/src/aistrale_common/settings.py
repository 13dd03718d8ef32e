"""Settings shared by every service; each service subclasses `ServiceSettings`.

Environment variables are read here and nowhere else (STYLE.md).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "dev"}


class ServiceSettings(BaseSettings):
    """What every service needs; production adapters are chosen by URL."""

    model_config = SettingsConfigDict(env_prefix="AISTRALE_", extra="ignore")

    environment: Literal["development", "test", "staging", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path(".aistrale")
    log_level: str = "INFO"
    log_json: bool = True
    otlp_endpoint: str | None = None
    # SIGTERM: how long requests in flight may still run (streams, long completions); the
    # router then ends what is left with an explicit error. Keep it below the pod's
    # terminationGracePeriodSeconds minus its preStop sleep, with room for the usage flush
    # (the charts derive it: docs/deploy.md).
    shutdown_grace_s: float = Field(default=60.0, gt=0)
    # A request head (request line and headers) past either limit is answered 431 and its
    # connection closed (http_server.py): nothing buffers megabytes of headers.
    max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    max_headers: int = Field(default=200, ge=16)

    redis_url: str | None = None
    redis_prefix: str = "aistrale:"
    amqp_url: str | None = None
    usage_exchange: str = "usage"
    control_exchange: str = "control"
    queue_prefix: str = ""

    service_token: str | None = Field(default=None, repr=False)
    jwt_secret: str | None = Field(default=None, repr=False)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.environment in ("staging", "production"):
            for name in ("service_token", "jwt_secret"):
                value = getattr(self, name)
                if value is None or value.lower() in _PLACEHOLDERS or len(value) < 16:
                    raise ValueError(
                        f"AISTRALE_{name.upper()} must be a real secret in {self.environment}"
                    )
        return self

    def embedded_database_url(self, service: str) -> str:
        return f"sqlite+aiosqlite:///{self.data_dir / service}.db"

    def secret(self, name: Literal["service_token", "jwt_secret"]) -> str:
        """The configured secret, or a random one persisted under data_dir for development."""
        value: str | None = getattr(self, name)
        if value:
            return value
        return local_secret(self.data_dir, name)


def local_secret(data_dir: Path, name: str) -> str:
    # Development only: the validator refuses missing secrets in staging/production.
    # Persisted so that separate processes (`make up`) and restarts agree.
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if name not in stored:
        stored[name] = secrets.token_urlsafe(32)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored))
        tmp.chmod(0o600)
        tmp.replace(path)
    return stored[name]
