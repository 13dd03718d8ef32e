"""Run the router under cProfile (`python -m bench.profile_router OUT.prof serve --port N`).

Used by `python -m bench.run --profile`: the stats are written when the router stops.
"""

from __future__ import annotations

import cProfile
import signal
import sys

from aistrale_router.cli import main


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    # uvicorn re-raises SIGTERM after its graceful shutdown: exit normally so stats are saved.
    signal.signal(signal.SIGTERM, _stop)
    profiler = cProfile.Profile()
    try:
        profiler.runcall(main, argv)
    finally:
        profiler.dump_stats(out)


if __name__ == "__main__":
    run()
