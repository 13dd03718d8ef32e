"""The console in a real browser against the real `make run` platform: one platform process
and one headless Chromium (Debian's, from `make tools`) for the whole module.

The platform serves a fake vLLM (its own process) as `fake-chat`, so that the Playground
streams and the Usage tab has traffic to chart; the local model is off.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from aistrale_common.settings import tooling_variable
from aistrale_testkit.make_run import stop_group, wait_answering
from aistrale_testkit.processes import ServiceProcess
from aistrale_testkit.tcp_proxy import free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = tooling_variable("AISTRALE_CHROMIUM", "/usr/bin/chromium")
EMAIL = "ops@console.test"
PASSWORD = "console-password-123"
MODEL = "fake-chat"
PRICING = {"input_micro_usd_per_mtok": 1_000_000, "output_micro_usd_per_mtok": 2_000_000}
# The first start on a machine builds the bundle (npm ci + vite); later starts reuse it.
CONSOLE_WITHIN_S = 300.0


@dataclass
class Platform:
    base: str
    token: str

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=10, **kwargs)

    def new_org(self, name: str) -> str:
        made = self.api("POST", "/admin/v1/orgs", json={"name": name})
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    def new_key(self, org_id: str, name: str = "k") -> str:
        made = self.api("POST", f"/admin/v1/orgs/{org_id}/keys", json={"name": name})
        assert made.status_code == 201, made.text
        return str(made.json()["key"])

    def add_member(self, org_id: str, email: str, role: str, password: str) -> None:
        """An invitation, accepted by the invitee (adding a member is an invitation)."""
        invited = self.api(
            "POST", f"/admin/v1/orgs/{org_id}/members", json={"email": email, "role": role}
        )
        assert invited.status_code == 202, invited.text
        accepted = httpx.post(
            f"{self.base}/admin/v1/invitations/accept",
            json={"token": invited.json()["token"], "password": password},
        )
        assert accepted.status_code == 200, accepted.text


def _models(path: Path, upstream: str) -> Path:
    deployment = {"provider": "vllm", "base_url": f"{upstream}/v1", "model": MODEL}
    catalog = {"models": [{"name": MODEL, "deployments": [deployment], "pricing": PRICING}]}
    path.write_text(yaml.safe_dump(catalog))
    return path


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    work = tmp_path_factory.mktemp("console")
    up_port, port = free_port(), free_port()
    upstream = ServiceProcess(
        [sys.executable, "-m", "aistrale_testkit.router.fake_vllm_server", str(up_port),
         "--word-delay-s", "0.05"],
        up_port, {}, log_path=work / "upstream.log",
    )  # fmt: skip
    upstream.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AISTRALE_", "VIRTUAL_ENV"))}
    env |= {
        "AISTRALE_PORT": str(port),
        "AISTRALE_DATA_DIR": str(work / "data"),
        "AISTRALE_LOCAL_MODEL": "0",
        "AISTRALE_MODELS_FILE": str(_models(work / "models.yaml", upstream.url)),
        "AISTRALE_ADMIN_EMAIL": EMAIL,
        "AISTRALE_ADMIN_PASSWORD": PASSWORD,
        "AISTRALE_LOG_JSON": "false",
    }
    log = work / "make-run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "run"], cwd=REPO, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_answering(f"{base}/health", proc, log, 60)
        wait_answering(f"{base}/console/", proc, log, CONSOLE_WITHIN_S)
        login = httpx.post(
            f"{base}/admin/v1/auth/token", data={"username": EMAIL, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        yield Platform(base, login.json()["access_token"])
    finally:
        stop_group(proc)
        upstream.terminate()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def _context(browser: Browser, platform: Platform, state: Any = None) -> BrowserContext:
    made = browser.new_context(
        base_url=platform.base, viewport={"width": 1200, "height": 800}, storage_state=state
    )
    made.set_default_timeout(10_000)
    return made


@pytest.fixture(scope="module")
def signed_in_state(browser: Browser, platform: Platform) -> Any:
    """One sign-in for the module (bcrypt is slow on purpose); each test gets its own
    browser context with these cookies."""
    made = _context(browser, platform)
    sign_in(made.new_page())
    state = made.storage_state()
    made.close()
    return state


@pytest.fixture
def context(browser: Browser, platform: Platform) -> Iterator[BrowserContext]:
    made = _context(browser, platform)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def sign_in(page: Page, email: str = EMAIL, password: str = PASSWORD) -> None:
    page.goto("/console/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Organisations").wait_for()


@pytest.fixture
def signed_in_context(
    browser: Browser, platform: Platform, signed_in_state: Any
) -> Iterator[BrowserContext]:
    made = _context(browser, platform, signed_in_state)
    yield made
    made.close()


@pytest.fixture
def signed_in(signed_in_context: BrowserContext) -> Page:
    page = signed_in_context.new_page()
    page.goto("/console/")
    page.get_by_role("heading", name="Organisations").wait_for()
    return page


def shoot(page: Page, name: str) -> None:
    """Screenshots for docs/console.md, when asked for: AISTRALE_SCREENSHOTS=docs/console."""
    folder = tooling_variable("AISTRALE_SCREENSHOTS", "")
    if folder:
        target = REPO / folder / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target))
