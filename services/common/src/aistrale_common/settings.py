"""Settings shared by every service; each service subclasses `ServiceSettings`.

Environment variables are read here and nowhere else (STYLE.md). A process refuses to
start on an `AISTRALE_*` variable that none of its settings classes (nor the local tooling)
declares: a misspelled setting must not silently fall back to its default
(`refuse_unknown_variables`, docs/decisions/unknown-settings-refused.md).
"""

from __future__ import annotations

import difflib
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "dev"}
PREFIX = "AISTRALE_"
SecretName = Literal["service_token", "jwt_secret"]

# Variables read outside the services' settings classes, by the local tooling around them.
# A developer's shell (or `make up`, `make soak`) hands them to every process it starts, so a
# service must not refuse them. Each is declared here with where it is read; tests/test_settings
# checks that the reader really mentions it and that every AISTRALE_* name in the repository
# is known to a settings class or to this table.
TOOLING_VARIABLES: Mapping[str, str] = {
    "AISTRALE_URL": "services/user-org/src/aistrale_userorg/admin_cli/client.py",
    "AISTRALE_CLI_HOME": "services/user-org/src/aistrale_userorg/admin_cli/client.py",
    "AISTRALE_LOCAL_MODEL": "infra/local/up.sh",
    "AISTRALE_PG_SERVER": "infra/local/up.sh",
    "AISTRALE_TOOLS_DIR": "infra/validation/install-tools.sh",
    "AISTRALE_SOAK_S": "tests/soak/test_soak.py",  # and tests/soak/faults.py
    "AISTRALE_CHROMIUM": "tests/console/conftest.py",  # and console/install-browser.sh
    "AISTRALE_SCREENSHOTS": "tests/console/conftest.py",  # docs/console.md's screenshots
}


class ServiceSettings(BaseSettings):
    """What every service needs; production adapters are chosen by URL."""

    # extra="ignore": in one process (`make run`) every service reads the same environment;
    # unknown names are refused once per process by `refuse_unknown_variables` instead.
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")
    # The secrets this service cannot run without in staging and production.
    required_secrets: ClassVar[tuple[SecretName, ...]] = ()

    environment: Literal["development", "test", "staging", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path(".aistrale")
    log_level: str = "INFO"
    log_json: bool = True
    # The OTLP/HTTP base URL (the collector's port 4318); /v1/traces is appended.
    otlp_endpoint: str | None = None
    # Sentry error reporting (errors and exceptions the services log); off when unset.
    sentry_dsn: str | None = Field(default=None, repr=False)
    # Set by the charts from the downward API: which replica wrote a log line or a span.
    pod_name: str | None = None
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
            for name in self.required_secrets:
                value = getattr(self, name)
                if value is None or value.lower() in _PLACEHOLDERS or len(value) < 16:
                    raise ValueError(
                        f"AISTRALE_{name.upper()} must be a real secret in {self.environment}"
                    )
        return self

    def embedded_database_url(self, service: str) -> str:
        return f"sqlite+aiosqlite:///{self.data_dir / service}.db"

    def referenced_variables(self) -> frozenset[str]:
        """Variables this service reads by a name its configuration gives (none by default)."""
        return frozenset()

    def secret(self, name: SecretName) -> str:
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


def tooling_variable(name: str, default: str) -> str:
    """A tooling variable read outside a settings class: only a declared name may be read, so
    that no service refuses what the tooling around it is given."""
    if name not in TOOLING_VARIABLES:
        raise KeyError(f"{name} is not declared in TOOLING_VARIABLES")
    return os.environ.get(name, default)


class UnknownVariableError(ValueError):
    """An AISTRALE_* variable that nothing in this process reads."""


def variable_names(settings_class: type[BaseSettings]) -> frozenset[str]:
    """The environment names a settings class reads (its aliases, else prefix + field)."""
    prefix = str(settings_class.model_config.get("env_prefix", "")).upper()
    names: set[str] = set()
    for field_name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias] if alias else []
        # An alias replaces the prefixed name (pydantic-settings applies no prefix to it).
        explicit = {choice.upper() for choice in choices if isinstance(choice, str)}
        names |= explicit or {f"{prefix}{field_name}".upper()}
    return frozenset(names)


def known_variables(
    classes: Iterable[type[BaseSettings]], referenced: Iterable[str] = ()
) -> frozenset[str]:
    known = set(TOOLING_VARIABLES) | {name.upper() for name in referenced}
    for settings_class in classes:
        known |= variable_names(settings_class)
    return frozenset(known)


def refuse_unknown_variables(
    environ: Mapping[str, str],
    classes: Iterable[type[BaseSettings]],
    referenced: Iterable[str] = (),
) -> None:
    """Raise naming each AISTRALE_* variable of `environ` that no class of this process (nor
    the tooling) declares, with the closest known name. `classes` are every settings class
    the process runs: `make run` passes all of them, a single service its own."""
    known = known_variables(classes, referenced)
    unknown = sorted(n for n in environ if n.upper().startswith(PREFIX) and n.upper() not in known)
    if not unknown:
        return
    lines = [f"{name}{_closest(name, known)}" for name in unknown]
    raise UnknownVariableError(
        "unknown setting(s) in the environment, nothing in this process reads: " + "; ".join(lines)
    )


def _closest(name: str, known: frozenset[str]) -> str:
    # Compared without the shared prefix, which would make every name look alike.
    stems = {k.removeprefix(PREFIX): k for k in known if k.startswith(PREFIX)}
    close = difflib.get_close_matches(name.upper().removeprefix(PREFIX), list(stems), 1, 0.6)
    return f" (did you mean {stems[close[0]]}?)" if close else ""
