"""A raw HTTP/1.1 server whose every byte the test decides: framing, pauses, closes."""

from __future__ import annotations

import asyncio
import gzip
import ssl
from dataclasses import dataclass, field

import httptools
import orjson


@dataclass
class Seen:
    connections: int = 0
    open_now: int = 0
    max_open: int = 0
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    closed_by_client: int = 0


class _Request:
    def __init__(self) -> None:
        self.url = b""
        self.headers: dict[str, str] = {}
        self.body = b""
        self.done = False

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode().lower()] = value.decode()

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


# What a vLLM /metrics answer looks like; sent gzipped to a client that offers gzip, as
# prometheus_client's ASGI app does.
METRICS = b"# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 2.0\n" * 200


def _response(status: int, body: bytes, extra: str = "") -> bytes:
    head = f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{extra}"
    return f"{head}content-length: {len(body)}\r\n\r\n".encode() + body


class RawServer:
    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.seen = Seen()
        self._tls = tls
        self._server: asyncio.Server | None = None
        self.port = 0
        self.release = asyncio.Event()  # lets /hang answer

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.release.set()

    def url(self, path: str) -> str:
        scheme = "https" if self._tls else "http"
        host = "localhost" if self._tls else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen = self.seen
        seen.connections += 1
        seen.open_now += 1
        seen.max_open = max(seen.max_open, seen.open_now)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            seen.open_now -= 1
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        request = _Request()
        parser = httptools.HttpRequestParser(request)
        while not request.done:
            data = await reader.read(65536)
            if not data:
                return False
            parser.feed_data(data)
        method = parser.get_method().decode()
        path = request.url.decode()
        self.seen.requests.append((method, path, request.headers, request.body))
        return await self._answer(path, method, request, reader, writer)

    async def _answer(
        self,
        path: str,
        method: str,
        request: _Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        if path.startswith("/status/"):
            writer.write(_response(int(path.rsplit("/", 1)[1]), b'{"error":{"message":"no"}}'))
        elif path == "/echo":
            echo = {"method": method, "headers": request.headers, "body": request.body.decode()}
            writer.write(_response(200, orjson.dumps(echo), "X-Mixed-Case: yes\r\n"))
        elif path == "/metrics":
            if "gzip" in request.headers.get("accept-encoding", ""):
                writer.write(_response(200, gzip.compress(METRICS), "content-encoding: gzip\r\n"))
            else:
                writer.write(_response(200, METRICS))
        elif path == "/close":
            writer.write(_response(200, b"{}", "connection: close\r\n"))
            await writer.drain()
            return False
        elif path == "/idle-close":  # answers, then closes the idle keep-alive connection
            writer.write(_response(200, b"{}"))
            await writer.drain()
            await asyncio.sleep(0.05)
            return False
        elif path == "/chunked":
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            for part in (b"data: 1\n\n", b"data: 2\n\n", b"data: [DONE]\n\n"):
                writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                await writer.drain()
                await asyncio.sleep(0.05)
            writer.write(b"0\r\n\r\n")
        elif path == "/mid-body":  # promises 100 bytes, sends 10, hangs up
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789")
            await writer.drain()
            return False
        elif path == "/slow-chunk":  # headers, one chunk, then silence until released
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
            await writer.drain()
            return await self._until_client_leaves(reader)
        elif path == "/sleep":
            await asyncio.sleep(0.1)
            writer.write(_response(200, b"{}"))
        elif path == "/hang":  # no answer at all, until released or the client leaves
            left = asyncio.ensure_future(reader.read(1))
            released = asyncio.ensure_future(self.release.wait())
            await asyncio.wait({left, released}, return_when=asyncio.FIRST_COMPLETED)
            released.cancel()
            if left.done() and not left.result():
                self.seen.closed_by_client += 1
                return False
            left.cancel()
            writer.write(_response(200, b"{}"))
        elif path == "/garbage":
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")
            await writer.drain()
            return False
        await writer.drain()
        return True

    async def _until_client_leaves(self, reader: asyncio.StreamReader) -> bool:
        if not await reader.read(1):
            self.seen.closed_by_client += 1
        return False
