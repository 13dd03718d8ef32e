"""The fake vLLM as a process of its own, for tests that put load on a whole platform: in the
test process it would share the GIL with the load generator.

    python -m aistrale_testkit.router.fake_vllm_server <port> [--word-delay-s S]
"""

from __future__ import annotations

import argparse

import uvicorn

from aistrale_common.http_server import CoalescingHttpToolsProtocol
from aistrale_testkit.router.fake_vllm import FakeVllm


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fake_vllm_server")
    parser.add_argument("port", type=int)
    parser.add_argument("--word-delay-s", type=float, default=0.0)
    args = parser.parse_args(argv)
    app = FakeVllm(word_delay_s=args.word_delay_s).app
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        http=CoalescingHttpToolsProtocol,
    )


if __name__ == "__main__":
    main()
