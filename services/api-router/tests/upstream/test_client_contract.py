"""The contract every `UpstreamClient` keeps, against a real socket server (raw_server.py).

Runs for the production clients (lean, aiohttp) and for httpx over a real transport.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import orjson
import pytest
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from aistrale_router.settings import Settings
from aistrale_router.upstream.aiohttp_client import AiohttpUpstream
from aistrale_router.upstream.client import (
    UpstreamBroken,
    UpstreamClient,
    UpstreamTimedOut,
    UpstreamUnreachable,
)
from aistrale_router.upstream.httpx_client import HttpxUpstream
from aistrale_router.upstream.lean import LeanUpstream
from aistrale_testkit.tcp_proxy import free_port

from .raw_server import METRICS, RawServer

Factory = Callable[[Settings], UpstreamClient]
FACTORIES: dict[str, Factory] = {
    "lean": LeanUpstream,
    "aiohttp": AiohttpUpstream,
    "httpx": lambda s: HttpxUpstream(s, httpx.AsyncHTTPTransport(verify=_ca_context(s))),
}


def _ca_context(settings: Settings) -> ssl.SSLContext | bool:
    return (
        ssl.create_default_context(cafile=settings.upstream_ca_file)
        if settings.upstream_ca_file
        else True
    )


def _settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "upstream_chunk_timeout_s": 0.5,
        "upstream_connect_timeout_s": 1.0,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(params=sorted(FACTORIES))
async def client(request: pytest.FixtureRequest) -> AsyncIterator[UpstreamClient]:
    made = FACTORIES[request.param](_settings())
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    async with RawServer() as running:
        yield running


async def test_post_sends_headers_and_body_and_reads_json(
    client: UpstreamClient, server: RawServer
) -> None:
    headers = {"content-type": "application/json", "authorization": "Bearer k"}
    response = await client.post(server.url("/echo"), headers, b'{"a":1}')
    assert response.status == 200
    assert response.headers.get("x-mixed-case") == "yes"
    assert response.headers["X-MIXED-CASE"] == "yes"
    echo = orjson.loads(await response.read())
    await response.close()
    assert echo["method"] == "POST"
    assert echo["body"] == '{"a":1}'
    assert echo["headers"]["authorization"] == "Bearer k"
    assert echo["headers"]["content-length"] == "7"
    assert echo["headers"]["host"] == f"127.0.0.1:{server.port}"


async def test_connections_are_kept_alive_and_reused(
    client: UpstreamClient, server: RawServer
) -> None:
    for _ in range(5):
        response = await client.post(server.url("/echo"), {}, b"x")
        await response.read()
        await response.close()
    assert server.seen.connections == 1


async def test_connection_close_answers_are_not_reused(
    client: UpstreamClient, server: RawServer
) -> None:
    for _ in range(3):
        response = await client.post(server.url("/close"), {}, b"")
        assert await response.read() == b"{}"
        await response.close()
    assert server.seen.connections == 3


async def test_a_connection_the_server_closed_while_idle_is_not_used(
    client: UpstreamClient, server: RawServer
) -> None:
    for _ in range(3):
        response = await client.post(server.url("/idle-close"), {}, b"")
        await response.read()
        await response.close()
        await asyncio.sleep(0.15)  # the server has hung up on the idle connection
    assert server.seen.connections == 3


async def test_chunked_bodies_arrive_piece_by_piece(
    client: UpstreamClient, server: RawServer
) -> None:
    response = await client.post(server.url("/chunked"), {}, b"")
    pieces = [piece async for piece in response.chunks()]
    await response.close()
    assert b"".join(pieces) == b"data: 1\n\ndata: 2\n\ndata: [DONE]\n\n"
    assert len(pieces) == 3  # 50 ms apart: relayed as they came, not buffered
    again = await client.post(server.url("/echo"), {}, b"")  # and the connection is reusable
    await again.read()
    await again.close()
    assert server.seen.connections == 1


async def test_error_statuses_are_answers_not_exceptions(
    client: UpstreamClient, server: RawServer
) -> None:
    response = await client.post(server.url("/status/503"), {}, b"")
    assert response.status == 503
    assert b"no" in await response.read()
    await response.close()


async def test_a_body_cut_short_is_broken(client: UpstreamClient, server: RawServer) -> None:
    response = await client.post(server.url("/mid-body"), {}, b"")
    with pytest.raises(UpstreamBroken):
        await response.read()
    await response.close()


async def test_silence_between_chunks_times_out(client: UpstreamClient, server: RawServer) -> None:
    response = await client.post(server.url("/slow-chunk"), {}, b"")
    chunks = response.chunks()
    assert await anext(chunks) == b"abc"
    with pytest.raises(UpstreamTimedOut):
        await anext(chunks)
    await response.close()


async def test_closing_mid_body_hangs_up_on_the_upstream(
    client: UpstreamClient, server: RawServer
) -> None:
    response = await client.post(server.url("/slow-chunk"), {}, b"")
    assert await anext(response.chunks()) == b"abc"
    await response.close()
    for _ in range(50):
        if server.seen.closed_by_client:
            break
        await asyncio.sleep(0.02)
    assert server.seen.closed_by_client == 1


async def test_cancelling_a_request_waiting_for_headers_frees_its_connection(
    client: UpstreamClient, server: RawServer
) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await client.post(server.url("/hang"), {}, b"")
    for _ in range(50):
        if server.seen.open_now == 0:
            break
        await asyncio.sleep(0.02)
    assert server.seen.open_now == 0  # the hung connection was dropped, not pooled
    response = await client.post(server.url("/echo"), {}, b"")
    assert response.status == 200
    await response.close()


async def test_a_refused_connection_is_unreachable(client: UpstreamClient) -> None:
    with pytest.raises(UpstreamUnreachable):
        await client.post(f"http://127.0.0.1:{free_port()}/v1/x", {}, b"")


async def test_a_response_that_is_not_http_is_not_a_success(
    client: UpstreamClient, server: RawServer
) -> None:
    with pytest.raises((UpstreamBroken, UpstreamUnreachable)):
        response = await client.post(server.url("/garbage"), {}, b"")
        await response.read()


async def test_get_answers_status_and_body(client: UpstreamClient, server: RawServer) -> None:
    assert await client.get(server.url("/status/202"), {}, 1.0) == (
        202,
        b'{"error":{"message":"no"}}',
    )
    with pytest.raises(UpstreamTimedOut):
        await client.get(server.url("/hang"), {}, 0.2)


async def test_get_reads_the_whole_body_uncompressed(
    client: UpstreamClient, server: RawServer
) -> None:
    status, body = await client.get(server.url("/metrics"), {"authorization": "Bearer k"}, 1.0)
    assert (status, body) == (200, METRICS)
    method, path, headers, _ = server.seen.requests[-1]
    assert (method, path, headers["authorization"]) == ("GET", "/metrics", "Bearer k")


async def test_get_answers_error_statuses_and_reuses_its_connection(
    client: UpstreamClient, server: RawServer
) -> None:
    assert await client.get(server.url("/status/503"), {}, 1.0) == (
        503,
        b'{"error":{"message":"no"}}',
    )
    chunked = await client.get(server.url("/chunked"), {}, 1.0)
    assert chunked == (200, b"data: 1\n\ndata: 2\n\ndata: [DONE]\n\n")
    assert (await client.get(server.url("/metrics"), {}, 1.0))[0] == 200
    assert server.seen.connections == 1


async def test_get_fails_only_as_timed_out_or_unreachable(
    client: UpstreamClient, server: RawServer
) -> None:
    with pytest.raises(UpstreamTimedOut):
        await client.get(server.url("/hang"), {}, 0.2)
    with pytest.raises(UpstreamTimedOut):  # headers in time, the rest of the body not
        await client.get(server.url("/slow-chunk"), {}, 0.3)
    for path in ("/mid-body", "/garbage"):
        with pytest.raises(UpstreamUnreachable):
            await client.get(server.url(path), {}, 1.0)
    with pytest.raises(UpstreamUnreachable):
        await client.get(f"http://127.0.0.1:{free_port()}/metrics", {}, 1.0)
    assert (await client.get(server.url("/metrics"), {}, 1.0))[0] == 200  # still usable


async def test_lean_pool_never_opens_more_than_the_limit(server: RawServer) -> None:
    client = LeanUpstream(_settings(upstream_max_connections=2))
    try:

        async def one() -> int:
            response = await client.post(server.url("/sleep"), {}, b"")
            await response.read()
            await response.close()
            return response.status

        assert await asyncio.gather(*(one() for _ in range(6))) == [200] * 6
    finally:
        await client.close()
    assert server.seen.max_open == 2
    assert server.seen.connections == 2


async def test_lean_client_refuses_header_injection(server: RawServer) -> None:
    client = LeanUpstream(_settings())
    try:
        response = await client.post(
            server.url("/echo"), {"x-evil": "a\r\nx-injected: 1", "x-fine": "ok"}, b""
        )
        echo = orjson.loads(await response.read())
        await response.close()
    finally:
        await client.close()
    assert "x-injected" not in echo["headers"]
    assert echo["headers"]["x-fine"] == "ok"


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize("name", sorted(FACTORIES))
async def test_tls_upstreams_are_verified(name: str, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    async with RawServer(tls=server_tls) as server:
        trusting = FACTORIES[name](_settings(upstream_ca_file=str(cert)))
        untrusting = FACTORIES[name](_settings())
        try:
            response = await trusting.post(server.url("/echo"), {}, b"x")
            assert orjson.loads(await response.read())["body"] == "x"
            await response.close()
            with pytest.raises(UpstreamUnreachable):
                await untrusting.post(server.url("/echo"), {}, b"x")
        finally:
            await trusting.close()
            await untrusting.close()


def test_lean_client_under_uvloop_as_in_production() -> None:
    """The router serves on uvloop, whose transports are not asyncio.Transport subclasses."""

    async def scenario() -> None:
        async with RawServer() as server:
            client = LeanUpstream(_settings())
            try:
                for path in ("/echo", "/chunked", "/echo"):
                    response = await client.post(server.url(path), {}, b"x")
                    assert response.status == 200
                    await response.read()
                    await response.close()
                broken = await client.post(server.url("/mid-body"), {}, b"")
                with pytest.raises(UpstreamBroken):
                    await broken.read()
                await broken.close()
                after = await client.post(server.url("/echo"), {}, b"")  # on a new connection
                assert after.status == 200
                await after.close()
            finally:
                await client.close()
            assert server.seen.connections == 2

    uvloop.run(scenario())
