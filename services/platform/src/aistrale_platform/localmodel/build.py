"""How llama-cpp-python is compiled on first use: trimmed, and at the lowest priority.

Trimmed: only what `python -m llama_cpp.server` loads, libllama and libggml. Left out are
the multimodal library (mtmd: `LLAVA_BUILD=OFF`) and llama.cpp's `common` library with its
HTTP client, which llama-cpp-python builds and installs but never loads (it switches it off
itself for WebAssembly). It forces `LLAMA_BUILD_COMMON` on in its own CMakeLists, so the
override runs as llama.cpp's project include, after that and before llama.cpp reads it.
llama.cpp's tests, examples and tools are off already in a subproject build. 194 compile
steps become 83 (docs/decisions/local-model-first-start.md).

Lowest priority: `nice -n 19` and `ionice -c 3` (idle I/O) for pip and every compiler it
starts, so the gateway and everything else on the machine keep their speed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

PROJECT_INCLUDE = 'set(LLAMA_BUILD_COMMON OFF CACHE BOOL "not loaded by llama_cpp" FORCE)\n'


def trimmed_build_env(work_dir: Path) -> dict[str, str]:
    """scikit-build-core's settings as environment variables (SKBUILD_*), read by the build
    pip runs for llama-cpp-python; the other packages are wheels and ignore them."""
    include = work_dir / "llama-cpp-trim.cmake"
    include.write_text(PROJECT_INCLUDE)
    defines = ["LLAVA_BUILD=OFF", f"CMAKE_PROJECT_llama.cpp_INCLUDE={include}"]
    return {
        "SKBUILD_CMAKE_DEFINE": ";".join(defines),
        # Each compile step on its own line ("[12/84] ..."): the progress and the estimate.
        "SKBUILD_BUILD_VERBOSE": "true",
    }


def lowest_priority(argv: list[str]) -> list[str]:
    """`argv` under nice 19 and the idle I/O class, as far as this system has the tools."""
    prefix: list[str] = []
    if nice := shutil.which("nice"):
        prefix += [nice, "-n", "19"]
    if ionice := shutil.which("ionice"):
        prefix += [ionice, "-c", "3"]
    return prefix + argv
