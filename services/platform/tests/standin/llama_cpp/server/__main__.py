"""`python -m llama_cpp.server` as the platform runs it, answering in the real server's wire
format (llama-cpp-python 0.3.x: /v1/models, /v1/completions) with a fixed text.

Test knobs (environment): STANDIN_ARGV_FILE records each command line, STANDIN_LOAD_S delays
the first answer like a model load, STANDIN_LOADED_WHEN (a path) holds it until that file
exists, STANDIN_EXIT_AFTER_S makes the server die.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TEXT = " Paris, the city of light."


def parse(argv: list[str]) -> argparse.Namespace:
    # The real server refuses unknown options too; only those the platform passes exist.
    parser = argparse.ArgumentParser(prog="llama_cpp.server")
    for name in ("model", "model_alias", "chat_format", "host"):
        parser.add_argument(f"--{name}", required=True)
    for name in ("port", "n_ctx", "n_threads"):
        parser.add_argument(f"--{name}", type=int)
    return parser.parse_args(argv)


def completion(alias: str) -> dict[str, Any]:
    return {
        "id": "cmpl-standin",
        "object": "text_completion",
        "created": int(time.time()),
        "model": alias,
        "choices": [{"text": TEXT, "index": 0, "logprobs": None, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 6, "completion_tokens": 7, "total_tokens": 13},
    }


def handler(alias: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            model = {"id": alias, "object": "model", "owned_by": "me", "permissions": []}
            if self.path == "/v1/models":
                self.reply(200, {"object": "list", "data": [model]})
            else:
                self.reply(404, {"detail": "Not Found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            self.rfile.read(length)
            if self.path == "/v1/completions":
                self.reply(200, completion(alias))
            else:
                self.reply(404, {"detail": "Not Found"})

        def reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main() -> None:
    args = parse(sys.argv[1:])
    if path := os.environ.get("STANDIN_ARGV_FILE"):  # one line per start
        with Path(path).open("a") as record:
            record.write(json.dumps(sys.argv[1:]) + "\n")
    if not Path(args.model).is_file():
        sys.exit(f"model file {args.model} not found")
    time.sleep(float(os.environ.get("STANDIN_LOAD_S", "0")))
    if gate := os.environ.get("STANDIN_LOADED_WHEN"):
        while not Path(gate).exists():
            time.sleep(0.05)
    if exit_after := os.environ.get("STANDIN_EXIT_AFTER_S"):
        threading.Timer(float(exit_after), os._exit, args=(3,)).start()
    ThreadingHTTPServer((args.host, args.port), handler(args.model_alias)).serve_forever()


main()
