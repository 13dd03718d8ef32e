"""Settings of the single-process platform (`make run`).

The local model (docs/local-model.md) is on by default so that a fresh clone answers a
real completion with no API key; `AISTRALE_LOCAL_MODEL=0` turns it off.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from aistrale_common.settings import ServiceSettings

REPO_ROOT = Path(__file__).resolve().parents[4]  # in the workspace's editable install


class Settings(ServiceSettings):
    port: int = 8080

    # First platform admin. Unset in development: admin@localhost with a random password
    # kept under data_dir (admin.py); user-org refuses nothing here, the platform decides.
    admin_email: str | None = None
    admin_password: SecretStr | None = Field(default=None, repr=False)

    local_model: bool = True
    # The packaged models one server serves (localmodel/weights.py); the first is loaded at
    # start, the server swaps to another when a request names it. SmolLM2 alone by default:
    # compared with Gemma 3 270M in docs/local-model.md; '["smollm2-135m", "gemma-3-270m"]'
    # adds Gemma (and its entry in models.yaml).
    local_models: list[str] = Field(default_factory=lambda: ["smollm2-135m"])
    # The alias of AISTRALE_LOCAL_MODEL_GGUF (default: the file's name without .gguf).
    local_model_name: str | None = None
    local_model_host: str = "127.0.0.1"
    local_model_port: int = Field(default=8090, gt=0, lt=65536)
    local_model_ctx: int = Field(default=4096, gt=0)
    local_model_threads: int | None = Field(default=None, gt=0)  # None: llama.cpp decides
    # Pinned: the server is compiled from source once per machine (trimmed, build.py), then
    # reused from the install cache. See docs/decisions/local-model-first-start.md.
    local_model_server_requirement: str = "llama-cpp-python[server]==0.3.36"
    # Shared by every data directory of this user: the compiled server and the weights.
    local_model_cache_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "aistrale" / "local-model"
    )
    # An interpreter that already has `llama_cpp.server`: skips the server install.
    local_model_python: Path | None = None
    # A GGUF file to serve instead of the packaged Gemma 3 270M: skips the weights install.
    local_model_gguf: Path | None = None
    local_model_ready_timeout_s: float = Field(default=120.0, gt=0)
    local_model_max_restarts: int = Field(default=3, ge=0)

    # The web console (docs/console.md): built from these sources on start when its cached
    # bundle (keyed by a hash of sources and lock file) is missing; or a prebuilt bundle.
    console_source_dir: Path = REPO_ROOT / "console"
    console_cache_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "aistrale" / "console"
    )
    console_dist_dir: Path | None = None

    @property
    def local_model_dir(self) -> Path:
        return self.data_dir / "local-model"
