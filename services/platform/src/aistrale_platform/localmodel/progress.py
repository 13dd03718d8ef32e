"""pip's output read as progress, with an estimate of the time left, for /ready and the banner.

The one long step is compiling llama.cpp; its build prints one line per step ("[12/84] …",
pip -v), so the time per step so far gives the time left. Before the compile starts the
estimate is the one measured on the development machine; steps get longer towards the end
(the big model files come last), so it is an estimate, said as "about".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from aistrale_common.logging import get_logger
from aistrale_platform.localmodel.status import LocalModelStatus

log = get_logger(__name__)

# Measured on a clean machine (docs/local-model.md; 2 shared cores, load average 4-5): venv,
# download and build dependencies before the compile; the trimmed compile at nice 19; what
# follows it (installing the wheels, loading the model).
BEFORE_COMPILE_S = 35.0
COMPILE_S = 210.0
AFTER_COMPILE_S = 15.0
STEP = re.compile(r"^\s*\[(\d+)/(\d+)\]\s")
COMPILING = "Building wheel for llama-cpp-python"
COMPILED = (
    "Created wheel for llama-cpp-python",
    "Building wheel for llama-cpp-python (pyproject.toml): finished",
)


class PipProgress:
    """Called with each line of pip's output: logs the meaningful ones and keeps the status'
    detail, progress and estimate current. `clock` is injectable for tests."""

    def __init__(
        self, status: LocalModelStatus, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._status = status
        self._clock = clock
        self._started = clock()
        self._compile_started: float | None = None
        self._compiling = False
        status.estimate(0.0, BEFORE_COMPILE_S + COMPILE_S + AFTER_COMPILE_S)

    def __call__(self, line: str) -> None:
        step = STEP.match(line)
        if step is not None:
            self._step(int(step.group(1)), int(step.group(2)))
            return
        text = line.strip()
        if not text or text.startswith(("Running command", "WARNING: Location")):
            return
        if text.startswith(COMPILED):
            self._compiling = False
        elif COMPILING in text and self._compile_started is None:
            self._compile_started = self._clock()
            self._compiling = True
        if self._compiling:
            # The compiler's own lines (warnings, flags): the log keeps the errors only.
            if "error" in text.lower():
                log.warning("local_model.compile", line=text)
            return
        log.info("local_model.install", line=text)
        self._status.note(f"pip, {self._elapsed()}s: {text}")

    def _step(self, done: int, total: int) -> None:
        now = self._clock()
        started = self._compile_started if self._compile_started is not None else now
        spent = now - started
        left = spent * (total - done) / done if done else COMPILE_S
        self._status.estimate(done / total, left + AFTER_COMPILE_S)
        minutes = max(1, round((left + AFTER_COMPILE_S) / 60))
        self._status.note(
            f"compiling llama.cpp (first start only): step {done}/{total}, about {minutes} min left"
        )

    def _elapsed(self) -> int:
        return round(self._clock() - self._started)
