"""The console bundle is built with the wheel's Node at most once per version of its sources,
and the site serves it (app routes fall back to index.html; nothing outside the bundle)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from aistrale_common.console_site import ConsoleSite
from aistrale_platform.console.build import BuildFailed, ConsoleBuild, fingerprint

# A console in miniature: no dependencies, a build script that counts its runs.
BUILD_JS = """
const fs = require('fs'), path = require('path');
const out = process.argv[process.argv.indexOf('--outDir') + 1];
fs.mkdirSync(out, {recursive: true});
fs.writeFileSync(path.join(out, 'index.html'), fs.readFileSync('src/app.txt'));
fs.appendFileSync('builds.log', 'x');
"""


def _project(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.txt").write_text("v1")
    (root / "build.js").write_text(BUILD_JS)
    for name in ("index.html", "tsconfig.json", "vite.config.ts"):
        (root / name).write_text("")
    package = {"name": "mini", "version": "1.0.0", "scripts": {"build": "node build.js"}}
    (root / "package.json").write_text(json.dumps(package))
    lock = {"name": "mini", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
            "packages": {"": {"name": "mini", "version": "1.0.0"}}}  # fmt: skip
    (root / "package-lock.json").write_text(json.dumps(lock))
    return root


def test_built_once_per_version_of_the_sources(tmp_path: Path) -> None:
    source = _project(tmp_path / "console")
    build = ConsoleBuild(source, tmp_path / "cache")
    assert build.cached() is None
    first = build.ensure()
    assert (first / "index.html").read_text() == "v1"
    assert build.ensure() == first and build.cached() == first
    assert (source / "builds.log").read_text() == "x"  # the second call built nothing
    (source / "src" / "app.txt").write_text("v2")
    second = build.ensure()
    assert second != first and (second / "index.html").read_text() == "v2"
    assert (source / "builds.log").read_text() == "xx"
    # npm ci ran once: the lock file did not change.
    assert (source / "node_modules" / ".aistrale-lock-hash").is_file()


def test_only_the_newest_bundles_are_kept(tmp_path: Path) -> None:
    source = _project(tmp_path / "console")
    build = ConsoleBuild(source, tmp_path / "cache")
    made = []
    for version in range(5):
        (source / "src" / "app.txt").write_text(f"v{version}")
        made.append(build.ensure())
    kept = sorted(p for p in (tmp_path / "cache").iterdir() if p.is_dir())
    assert kept == sorted(made[-3:])


def test_the_fingerprint_covers_sources_and_lock_file(tmp_path: Path) -> None:
    source = _project(tmp_path / "console")
    before = fingerprint(source)
    (source / "src" / "new.ts").write_text("export {}")
    with_file = fingerprint(source)
    (source / "package-lock.json").write_text((source / "package-lock.json").read_text() + " ")
    assert len({before, with_file, fingerprint(source)}) == 3


def test_a_failing_build_says_where_its_log_is(tmp_path: Path) -> None:
    source = _project(tmp_path / "console")
    (source / "build.js").write_text("process.exit(3)")
    build = ConsoleBuild(source, tmp_path / "cache")
    with pytest.raises(BuildFailed, match=r"build\.log"):
        build.ensure()
    assert build.cached() is None


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    root = tmp_path / "bundle"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<html>app</html>")
    (root / "assets" / "index-abc.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("outside")
    return root


async def _get(site: ConsoleSite, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=site)
    async with httpx.AsyncClient(transport=transport, base_url="http://platform") as client:
        return await client.get(path)


async def test_the_site_serves_the_bundle_and_app_routes(bundle: Path) -> None:
    site = ConsoleSite()
    site.ready(bundle)
    assert (await _get(site, "/console")).status_code == 308
    for path in ("/console/", "/console/login", "/console/orgs/o1/usage"):
        page = await _get(site, path)
        assert page.status_code == 200 and page.text == "<html>app</html>", path
        assert page.headers["cache-control"] == "no-cache"
    asset = await _get(site, "/console/assets/index-abc.js")
    assert asset.text == "console.log(1)" and "immutable" in asset.headers["cache-control"]
    assert (await _get(site, "/console/assets/gone.js")).status_code == 404
    escaped = await _get(site, "/console/%2e%2e/secret.txt")
    assert "outside" not in escaped.text


async def test_while_building_the_site_says_so(bundle: Path) -> None:
    site = ConsoleSite()
    site.building()
    waiting = await _get(site, "/console/")
    assert waiting.status_code == 503 and "being built" in waiting.text
    assert waiting.headers["retry-after"] == "3"
    site.failed("npm ci failed")
    assert "npm ci failed" in (await _get(site, "/console/login")).text


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may never reap an orphan)."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "State:\tZ" not in status.read_text()
    except FileNotFoundError:
        return False


async def test_the_platform_builds_in_a_child_it_stops_with_itself(tmp_path: Path) -> None:
    import asyncio

    from aistrale_platform.console.component import Console
    from aistrale_platform.settings import Settings

    source = _project(tmp_path / "console")
    pid_file = tmp_path / "npm-build.pid"
    (source / "build.js").write_text(
        f"require('fs').writeFileSync({str(pid_file)!r}, String(process.pid));"
        "setTimeout(() => {}, 60000);"
    )
    settings = Settings(console_source_dir=source, console_cache_dir=tmp_path / "cache")
    site = ConsoleSite()
    console = Console(settings, site)
    async with console.lifespan():
        for _ in range(300):
            if pid_file.exists() and pid_file.read_text():
                break
            await asyncio.sleep(0.1)
        assert console.describe()["state"] == "building"
        pid = int(pid_file.read_text())
    await asyncio.sleep(0.5)
    assert not _running(pid)  # the build's node process ended with the platform


async def test_the_platform_serves_what_its_child_built(tmp_path: Path) -> None:
    import asyncio

    from aistrale_platform.console.component import Console
    from aistrale_platform.settings import Settings

    source = _project(tmp_path / "console")
    settings = Settings(console_source_dir=source, console_cache_dir=tmp_path / "cache")
    site = ConsoleSite()
    async with Console(settings, site).lifespan():
        for _ in range(300):
            if site.describe()["state"] not in ("off", "building"):
                break
            await asyncio.sleep(0.1)
        assert site.describe() == {"state": "ready"}
        assert (await _get(site, "/console/")).text == "v1"
