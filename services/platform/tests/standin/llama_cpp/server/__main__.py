"""`python -m llama_cpp.server --config_file …` as the platform runs it, answering in the real
server's wire format (llama-cpp-python 0.3.x: /v1/models, /v1/completions,
/v1/chat/completions, streamed or not) with a fixed text.

Like the real server it reads every option from the config file and refuses unknown keys,
and it requires each model file to exist. Test knobs (environment): STANDIN_ARGV_FILE
records each start (argv and config), STANDIN_LOAD_S delays the first answer like a model
load, STANDIN_LOADED_WHEN (a path) holds it until that file exists, STANDIN_EXIT_AFTER_S
makes the server die.
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
SERVER_KEYS = {"host", "port", "interrupt_requests", "models"}
MODEL_KEYS = {"model", "model_alias", "chat_format", "n_ctx", "n_threads"}


def read_config(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="llama_cpp.server")
    parser.add_argument("--config_file", required=True)
    config: dict[str, Any] = json.loads(Path(parser.parse_args(argv).config_file).read_text())
    unknown = set(config) - SERVER_KEYS | {k for m in config["models"] for k in m} - MODEL_KEYS
    if unknown:
        sys.exit(f"unknown settings {sorted(unknown)}")
    return config


def completion(alias: str) -> dict[str, Any]:
    return {
        "id": "cmpl-standin",
        "object": "text_completion",
        "created": int(time.time()),
        "model": alias,
        "choices": [{"text": TEXT, "index": 0, "logprobs": None, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 6, "completion_tokens": 7, "total_tokens": 13},
    }


def chat(alias: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": TEXT.strip()}
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": alias,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
    }


def chat_chunks(alias: str) -> list[dict[str, Any]]:
    def chunk(delta: dict[str, str], finish: str | None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "model": alias,
                "created": int(time.time()), "choices": [choice]}  # fmt: skip

    words = [{"content": w} for w in TEXT.strip().split(" ")]
    return [chunk({"role": "assistant"}, None), *(chunk(w, None) for w in words), chunk({}, "stop")]


def handler(aliases: list[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                data = [{"id": a, "object": "model", "owned_by": "me", "permissions": []}
                        for a in aliases]  # fmt: skip
                self.reply(200, {"object": "list", "data": data})
            else:
                self.reply(404, {"detail": "Not Found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
            alias = body.get("model") if body.get("model") in aliases else aliases[0]
            if self.path == "/v1/completions":
                self.reply(200, completion(alias))
            elif self.path == "/v1/chat/completions" and body.get("stream"):
                self.stream(chat_chunks(alias))
            elif self.path == "/v1/chat/completions":
                self.reply(200, chat(alias))
            else:
                self.reply(404, {"detail": "Not Found"})

        def reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def stream(self, chunks: list[dict[str, Any]]) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            for chunk in chunks:
                self.wfile.write(f"data: {json.dumps(chunk)}\r\n\r\n".encode())
            self.wfile.write(b"data: [DONE]\r\n\r\n")
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def main() -> None:
    config = read_config(sys.argv[1:])
    if path := os.environ.get("STANDIN_ARGV_FILE"):  # one line per start
        with Path(path).open("a") as record:
            record.write(json.dumps({"argv": sys.argv[1:], "config": config}) + "\n")
    for model in config["models"]:
        if not Path(model["model"]).is_file():
            sys.exit(f"model file {model['model']} not found")
    time.sleep(float(os.environ.get("STANDIN_LOAD_S", "0")))
    if gate := os.environ.get("STANDIN_LOADED_WHEN"):
        while not Path(gate).exists():
            time.sleep(0.05)
    if exit_after := os.environ.get("STANDIN_EXIT_AFTER_S"):
        threading.Timer(float(exit_after), os._exit, args=(3,)).start()
    aliases = [m["model_alias"] for m in config["models"]]
    ThreadingHTTPServer((config["host"], config["port"]), handler(aliases)).serve_forever()


main()
