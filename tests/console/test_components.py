"""The app's own component tests (vitest, console/src/**/*.test.ts), run with the wheel's Node."""

from __future__ import annotations

from pathlib import Path

from aistrale_platform.console.build import ConsoleBuild
from aistrale_platform.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def test_the_apps_component_tests_pass() -> None:
    build = ConsoleBuild(REPO / "console", Settings().console_cache_dir)
    done = build.run_tests()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout, done.stdout[-2000:]
