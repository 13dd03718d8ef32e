"""Sentry error reporting, off by default: with a DSN, an unhandled error in a service reaches
the DSN's server (a local receiver of Sentry's envelope protocol) with the service and the
request id as tags and no credentials; without one, the client is not even active."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).with_name("sentry_app.py")


@pytest.fixture
def envelopes() -> Iterator[tuple[str, list[list[dict[str, Any]]]]]:
    received: list[list[dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            received.append([json.loads(line) for line in body.splitlines() if line.strip()])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://public@127.0.0.1:{server.server_address[1]}/42", received
    finally:
        server.shutdown()
        server.server_close()


def _run(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_an_unhandled_error_reaches_sentry(
    envelopes: tuple[str, list[list[dict[str, Any]]]],
) -> None:
    dsn, received = envelopes
    request_id, active, key = _run(dsn)
    assert active == "True"
    events = [item for envelope in received for item in envelope if "exception" in item]
    assert len(events) == 1, received
    event = events[0]
    [error] = event["exception"]["values"]
    assert (error["type"], error["value"]) == ("RuntimeError", "the handler failed")
    assert event["tags"]["service"] == "sentry-check"
    assert event["tags"]["request_id"] == request_id
    assert key not in json.dumps(received)  # not in headers, locals or the log's fields


def test_off_without_a_dsn(envelopes: tuple[str, list[list[dict[str, Any]]]]) -> None:
    _, received = envelopes
    _, active, _ = _run()
    assert active == "False" and received == []
