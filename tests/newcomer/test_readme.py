"""The README's "First hour", as a newcomer follows it.

A clean copy of the repository (its tracked files only: no .venv, no .aistrale, no caches
of ours), `make run` in it, then every bash and python block between the README's
newcomer-test markers, in order, in one bash shell with `set -euo pipefail`: a command that
fails, or prints an error where the README expects a value, fails this test. The local
model is the stand-in `llama_cpp.server` (services/platform/tests/standin): the real one
compiles llama.cpp for minutes. Its install cache is seeded as a first start leaves it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aistrale_platform.localmodel.installer import MARKER, weights_home
from aistrale_platform.localmodel.weights import PACKAGED
from aistrale_platform.settings import Settings
from aistrale_router.catalog.store import read_catalog
from aistrale_testkit.make_run import stop_group, wait_answering
from aistrale_testkit.tcp_proxy import free_port

ROOT = Path(__file__).parents[2]
BEGIN, END = "<!-- newcomer-test: begin", "<!-- newcomer-test: end -->"
BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.MULTILINE | re.DOTALL)
STANDIN_TEXT = "Paris, the city of light."
SERVING_WITHIN_S = 120.0  # `make deps` makes the copy's own venv first (uv's cache is warm)


def readme_script(readme: str) -> str:
    """The blocks between the markers as one bash script; python blocks run as the README
    says, with `uv run python`."""
    section = readme[readme.index(BEGIN) : readme.index(END)]
    parts = ["set -euo pipefail"]
    for language, code in BLOCK.findall(section):
        if language == "bash":
            parts.append(code)
        else:
            parts.append(f"uv run python - <<'PYTHON'\n{code}PYTHON")
    assert len(parts) > 4, "the README's First hour lost its commands"
    return "\n".join(parts) + "\n"


def _clean_copy(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted in the work tree but not yet in git
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def _seed_local_model(cache: Path) -> None:
    settings = Settings(local_model_cache_dir=cache)
    home = weights_home(settings)
    for name in settings.local_models:
        PACKAGED[name].path(home).parent.mkdir(parents=True, exist_ok=True)
        PACKAGED[name].path(home).write_bytes(b"GGUF")
    (home / MARKER).write_text("{}")


@pytest.fixture
def newcomer(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A clean copy running `make run`; yields its folder and the newcomer's environment."""
    repo = tmp_path / "aistrale"
    _clean_copy(repo)
    port, model_port = free_port(), free_port()
    # What the README says to do when the local model's port moves: edit models.yaml too.
    models = repo / "models.yaml"
    models.write_text(models.read_text().replace(":8090/", f":{model_port}/"))
    _seed_local_model(tmp_path / "cache")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AISTRALE_", "VIRTUAL_ENV"))}
    env |= {
        "AISTRALE_PORT": str(port),
        "AISTRALE_LOCAL_MODEL_PORT": str(model_port),
        "AISTRALE_LOCAL_MODEL_CACHE_DIR": str(tmp_path / "cache"),
        "AISTRALE_LOCAL_MODEL_PYTHON": sys.executable,
        "PYTHONPATH": str(repo / "services" / "platform" / "tests" / "standin"),
    }
    with (tmp_path / "make-run.log").open("wb") as log:
        proc = subprocess.Popen(
            ["make", "run"], cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_answering(
            f"http://127.0.0.1:{port}/health",
            proc,
            tmp_path / "make-run.log",
            SERVING_WITHIN_S,
            0.5,
        )
        # The second terminal: the CLI keeps its session in this test's folder.
        yield repo, {**env, "AISTRALE_CLI_HOME": str(tmp_path / "cli")}
    finally:
        stop_group(proc)


def test_first_hour_as_the_readme_tells_it(
    newcomer: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, env = newcomer
    script = tmp_path / "first-hour.sh"
    script.write_text(readme_script((repo / "README.md").read_text()))
    done = subprocess.run(
        ["bash", str(script)], cwd=repo, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, f"a README command failed:\n{done.stdout}\n{done.stderr}"
    # Chat, completion and stream each reached the model and came back.
    assert done.stdout.count(STANDIN_TEXT) >= 2, done.stdout
    assert "Paris, the city of light." in done.stdout.replace("\n", " ")


def test_the_commented_priced_model_is_a_valid_entry(tmp_path: Path) -> None:
    """models.yaml's commented `smollm2-priced`, uncommented as the README says."""
    text = (ROOT / "models.yaml").read_text()
    start = text.index("#  - name: smollm2-priced")
    end = text.index("\n\n", start)
    block = "\n".join(line.removeprefix("#") for line in text[start:end].splitlines())
    catalog = tmp_path / "models.yaml"
    catalog.write_text(text[:start] + block + text[end:])
    priced = read_catalog(catalog).get("smollm2-priced")
    assert priced is not None and priced.pricing is not None
    assert priced.pricing.input_micro_usd_per_mtok > 0
    assert priced.pricing.output_micro_usd_per_mtok > 0
