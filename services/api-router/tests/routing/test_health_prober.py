"""The health prober against a real HTTP server: a deployment answering requests well is
not probed (a one-request-at-a-time server would queue the probe behind its generation, or
cut the generation for it); an idle one, or one whose requests fail, is."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from aistrale_router.catalog.store import CatalogStore
from aistrale_router.gateway.wiring import build_upstream_client
from aistrale_router.routing.health import HealthProber
from aistrale_router.routing.state import DeploymentStates
from aistrale_router.settings import Settings
from aistrale_testkit.tcp_proxy import free_port


class _Probes:
    def __init__(self) -> None:
        self.count = 0
        self.headers: list[dict[str, str]] = []


@pytest.fixture
def server() -> Iterator[tuple[int, _Probes]]:
    probes = _Probes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            probes.count += 1
            probes.headers.append({k.lower(): v for k, v in self.headers.items()})
            body = b'{"object": "list", "data": []}'
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield port, probes
    finally:
        httpd.shutdown()
        httpd.server_close()


def _catalog(tmp_path: Path, port: int, names: tuple[str, ...] = ("one-slot",)) -> CatalogStore:
    """One model per name, each with a deployment of that name on the same server."""
    path = tmp_path / "models.yaml"
    entries = "".join(
        f"  - name: model-{name}\n"
        "    deployments:\n"
        "      - provider: openai-compatible\n"
        f"        base_url: http://127.0.0.1:{port}/v1\n"
        "        model: local\n"
        f"        name: {name}\n"
        "    pricing: {input_micro_usd_per_mtok: 0, output_micro_usd_per_mtok: 0}\n"
        for name in names
    )
    path.write_text("models:\n" + entries)
    return CatalogStore(path)


async def test_busy_deployment_with_good_answers_is_not_probed(
    server: tuple[int, _Probes], tmp_path: Path
) -> None:
    port, probes = server
    client = build_upstream_client(Settings(environment="test", data_dir=tmp_path))
    states = DeploymentStates(failures=3, open_s=30.0)
    prober = HealthProber(client, _catalog(tmp_path, port), states)
    try:
        await prober.probe_all()  # idle: probed
        assert (probes.count, states.get("one-slot").healthy) == (1, True)

        states.started("one-slot")  # a generation runs, as the forwarder marks it
        await prober.probe_all()
        await prober.probe_all()
        assert (probes.count, states.get("one-slot").healthy) == (1, True)

        states.finished("one-slot", ok=False)  # it failed: its answers prove nothing now
        states.started("one-slot")
        await prober.probe_all()
        assert probes.count == 2

        states.finished("one-slot", ok=True)
        await prober.probe_all()  # idle again: probed
        assert probes.count == 3
    finally:
        await client.close()


async def test_deployments_on_one_server_share_its_probe(
    server: tuple[int, _Probes], tmp_path: Path
) -> None:
    # Two catalog names served by one local server (models.yaml's priced entry, Gemma).
    port, probes = server
    client = build_upstream_client(Settings(environment="test", data_dir=tmp_path))
    states = DeploymentStates(failures=3, open_s=30.0)
    prober = HealthProber(client, _catalog(tmp_path, port, ("free", "priced")), states)
    try:
        await prober.probe_all()
        assert probes.count == 1  # one probe for the server
        states.started("free")  # busy with one name: the other is answered for too
        await prober.probe_all()
        assert probes.count == 1
        assert states.get("free").healthy is True and states.get("priced").healthy is True
    finally:
        await client.close()


async def test_a_hosted_provider_is_probed_only_when_its_deployment_asks(
    server: tuple[int, _Probes], tmp_path: Path
) -> None:
    port, probes = server
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        + "".join(
            f"  - name: {name}\n"
            "    deployments:\n"
            "      - provider: anthropic\n"
            f"        base_url: http://127.0.0.1:{port}/v1\n"
            f"        model: claude\n        name: {name}\n"
            f"        api_key_env: {name.upper()}_KEY\n"  # two accounts: two servers
            f"        probe: {probe}\n"
            for name, probe in (("quiet", "false"), ("probed", "true"))
        )
    )
    client = build_upstream_client(Settings(environment="test", data_dir=tmp_path))
    states = DeploymentStates(failures=3, open_s=30.0)
    store = CatalogStore(path, {"PROBED_KEY": "sk-ant-probe", "QUIET_KEY": "sk-ant-quiet"})
    try:
        await HealthProber(client, store, states).probe_all()
        assert probes.count == 1  # the one that asked; the other costs no quota
        assert probes.headers[0]["x-api-key"] == "sk-ant-probe"  # Anthropic's own header
        assert "authorization" not in probes.headers[0]
        assert states.get("probed").healthy is True
        assert states.get("quiet").healthy is None  # its breaker speaks for it
    finally:
        await client.close()
