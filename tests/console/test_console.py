"""Every page of the console in Chromium against `make run` (issue 16's contract)."""

from __future__ import annotations

import gzip
import re
import time

import httpx
from openai import OpenAI
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.console.conftest import EMAIL, MODEL, Platform, shoot, sign_in

FIRST_LOAD_JS_BUDGET = 300 * 1024  # gzipped


def _open_org(page: Page, name: str, tab: str) -> None:
    page.goto("/console/")
    page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("navigation", name="Organisation").get_by_role("link", name=tab).click()


def test_sign_in_says_invalid_then_signs_in_by_keyboard(
    page: Page, context: BrowserContext, platform: Platform
) -> None:
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/login$"))  # no session: the sign-in page
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Invalid")
    assert "password is wrong" not in alert.inner_text().lower()
    shoot(page, "sign-in")
    # Keyboard only: Email has the focus, Tab to Password, Enter submits.
    page.get_by_label("Email").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("console-password-123")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Organisations")).to_be_visible()
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["aistrale_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert not cookies["aistrale_csrf"]["httpOnly"]
    assert page.evaluate("document.cookie").find("aistrale_session") == -1  # not readable


def test_organisations_are_listed_and_open(signed_in: Page, platform: Platform) -> None:
    page = signed_in
    platform.new_org("acme-list")
    platform.new_org("globex-list")
    page.reload()
    for name in ("acme-list", "globex-list"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    shoot(page, "organisations")
    page.get_by_role("link", name="globex-list", exact=True).click()
    expect(page.get_by_role("heading", name="globex-list")).to_be_visible()
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()


def test_keys_create_shows_the_key_once_copies_and_revokes(
    signed_in: Page, signed_in_context: BrowserContext, platform: Platform
) -> None:
    page = signed_in
    signed_in_context.grant_permissions(["clipboard-read", "clipboard-write"])
    platform.new_org("keys-org")
    _open_org(page, "keys-org", "Keys")
    page.get_by_label("Key name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-key").inner_text()
    assert secret.startswith("sk-")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shoot(page, "keys")
    row = page.get_by_role("row").filter(has_text="laptop")
    expect(row).to_contain_text("active")
    expect(row).to_contain_text("never")  # last use
    models = httpx.get(f"{platform.base}/v1/models", headers={"authorization": f"Bearer {secret}"})
    assert models.status_code == 200
    page.reload()
    expect(page.get_by_role("row").filter(has_text="laptop")).to_be_visible()
    assert secret not in page.content()  # shown once only
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke laptop").click()
    expect(page.get_by_role("row").filter(has_text="laptop")).to_contain_text("revoked")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the router drops it within a second
        again = httpx.get(
            f"{platform.base}/v1/models", headers={"authorization": f"Bearer {secret}"}
        )
        if again.status_code == 401:
            break
        time.sleep(0.2)
    assert again.status_code == 401


def test_usage_tab_charts_requests_with_a_period_picker(
    signed_in: Page, platform: Platform
) -> None:
    page = signed_in
    org_id = platform.new_org("usage-org")
    client = OpenAI(base_url=f"{platform.base}/v1", api_key=platform.new_key(org_id, "app"))
    for _ in range(3):
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=8
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # analytics consumes the usage events
        summary = platform.api("GET", f"/analytics/v1/orgs/{org_id}/usage/summary").json()
        if summary["totals"]["requests"] == 3:
            break
        time.sleep(0.3)
    _open_org(page, "usage-org", "Usage")
    expect(page.get_by_test_id("usage-totals")).to_contain_text("3 requests")
    chart = page.get_by_role("img", name=re.compile("Usage chart"))
    expect(chart.locator("svg.recharts-surface").first).to_be_visible()
    expect(chart.locator(".recharts-bar-rectangle").first).to_be_attached()
    expect(page.get_by_text(MODEL).first).to_be_visible()  # the legend: by model
    shoot(page, "usage")
    page.get_by_label("Period").select_option("7d")
    expect(page.get_by_test_id("usage-totals")).to_contain_text("3 requests")
    page.get_by_label("Group by").select_option("key")
    page.get_by_label("Metric").select_option("cost")
    expect(page.get_by_test_id("usage-totals")).to_contain_text("3 requests")
    page.get_by_label("Period").select_option("1h")
    expect(page.get_by_test_id("usage-totals")).to_contain_text("3 requests")


def test_budget_set_shows_a_spend_bar_and_clears(signed_in: Page, platform: Platform) -> None:
    page = signed_in
    org_id = platform.new_org("budget-org")
    _open_org(page, "budget-org", "Budget")
    expect(page.get_by_text("No budget")).to_be_visible()
    page.get_by_label("Limit (USD)").fill("5")
    page.get_by_label("Period").select_option("month")
    page.get_by_role("button", name="Save budget").click()
    expect(page.get_by_test_id("budget-summary")).to_contain_text("of $5.00 this month")
    expect(page.get_by_role("progressbar", name="Spend against the limit")).to_be_visible()
    shoot(page, "budget")
    stored = platform.api("GET", f"/admin/v1/orgs/{org_id}/budget").json()
    assert stored["limit_micro_usd"] == 5_000_000 and stored["period"] == "month"
    page.get_by_role("button", name="Clear budget").click()
    expect(page.get_by_text("No budget")).to_be_visible()
    assert platform.api("GET", f"/admin/v1/orgs/{org_id}/budget").status_code == 404


def test_members_invite_accept_change_role_and_remove(
    signed_in: Page, browser: Browser, platform: Platform
) -> None:
    page = signed_in
    org_id = platform.new_org("members-org")
    _open_org(page, "members-org", "Members")
    page.get_by_label("Member email").fill("bob@console.test")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Invite member").click()
    link = page.get_by_test_id("invite-link").inner_text()
    assert "/console/invite?token=inv-" in link
    # The invitee, in a browser of their own, not signed in.
    invitee = browser.new_context(base_url=platform.base)
    try:
        their = invitee.new_page()
        their.goto(link)
        their.get_by_label("Password").fill("bob-password-1")
        their.get_by_role("button", name="Accept invitation").click()
        expect(their.get_by_role("status")).to_contain_text("You joined as viewer")
    finally:
        invitee.close()
    page.reload()
    role = page.get_by_label("Role of bob@console.test")
    expect(role).to_have_value("viewer")
    role.select_option("billing")
    shoot(page, "members")

    def roles() -> dict[str, str]:
        listed = platform.api("GET", f"/admin/v1/orgs/{org_id}/members").json()["data"]
        return {m["email"]: m["role"] for m in listed}

    deadline = time.monotonic() + 5
    while roles().get("bob@console.test") != "billing" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert roles()["bob@console.test"] == "billing"
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove bob@console.test").click()
    expect(page.get_by_label("Role of bob@console.test")).to_have_count(0)
    assert "bob@console.test" not in roles()


def test_provider_credentials_set_and_delete_never_show_the_secret(
    signed_in: Page, platform: Platform
) -> None:
    page = signed_in
    org_id = platform.new_org("byok-org")
    _open_org(page, "byok-org", "Provider credentials")
    secret = "sk-proj-console-test-9f8e7d6c"
    page.get_by_label("Provider", exact=True).select_option("anthropic")
    page.get_by_label("Provider API key").fill(secret)
    page.get_by_role("button", name="Save credential").click()
    row = page.get_by_role("row").filter(has_text="anthropic")
    expect(row).to_contain_text("…7d6c")
    expect(page.get_by_label("Provider API key")).to_have_value("")
    assert secret not in page.content()
    shoot(page, "credentials")
    listed = platform.api("GET", f"/admin/v1/orgs/{org_id}/provider-credentials").json()
    assert [c["provider"] for c in listed["data"]] == ["anthropic"]
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete anthropic credential").click()
    expect(page.get_by_role("row").filter(has_text="anthropic")).to_have_count(0)
    assert platform.api("GET", f"/admin/v1/orgs/{org_id}/provider-credentials").json()["data"] == []


def test_audit_log_filters_and_verifies_the_chain(signed_in: Page, platform: Platform) -> None:
    page = signed_in
    org_id = platform.new_org("audit-org")
    platform.new_key(org_id, "audited")
    _open_org(page, "audit-org", "Audit log")
    expect(page.get_by_role("cell", name="org.create")).to_be_visible()
    page.get_by_label("Action").fill("key.create")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("cell", name="org.create")).to_have_count(0)
    expect(page.get_by_role("cell", name="key.create")).to_have_count(1)
    page.get_by_label("Outcome").fill("failure:denied")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("cell", name="key.create")).to_have_count(0)
    page.get_by_label("Outcome").fill("success")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("cell", name="key.create")).to_have_count(1)
    page.get_by_role("button", name="Verify chain").click()
    expect(page.get_by_test_id("verify-result")).to_contain_text("Chain intact")
    shoot(page, "audit")
    # The whole log, for platform admins, from the main navigation.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").fill("auth.login")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("cell", name=EMAIL).first).to_be_visible()


def test_playground_streams_a_chat_through_the_gateway(signed_in: Page, platform: Platform) -> None:
    page = signed_in
    org_id = platform.new_org("play-org")
    _open_org(page, "play-org", "Playground")
    page.get_by_role("button", name="Create playground key").click()
    expect(page.get_by_label("Model")).to_have_value(MODEL)
    page.get_by_label("Message").fill("Say hello")
    page.keyboard.press("Enter")
    answer = page.get_by_test_id("message-assistant")
    # Streaming: a part of the answer is on the page before the whole of it.
    expect(answer).to_contain_text("Hello from")
    partial = answer.inner_text()
    expect(answer).to_contain_text("every time .")
    assert len(partial) < len(answer.inner_text()), partial
    shoot(page, "playground")
    keys = platform.api("GET", f"/admin/v1/orgs/{org_id}/keys").json()["data"]
    assert [k["name"] for k in keys] == ["playground"]


def test_cookie_calls_need_the_csrf_header_and_sign_out_ends_the_session(
    page: Page, context: BrowserContext, platform: Platform
) -> None:
    sign_in(page)  # a session of its own: signing out ends it for good
    forged = page.evaluate(
        """async () => (await fetch('/admin/v1/orgs', {method: 'POST',
             headers: {'content-type': 'application/json'},
             body: JSON.stringify({name: 'forged'})})).status"""
    )
    assert forged == 403
    session = next(c["value"] for c in context.cookies() if c["name"] == "aistrale_session")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert "aistrale_session" not in {c["name"] for c in context.cookies()}
    replayed = httpx.get(f"{platform.base}/admin/v1/orgs", cookies={"aistrale_session": session})
    assert replayed.status_code == 401
    page.goto("/console/orgs/whatever/keys")
    expect(page).to_have_url(re.compile(r"/console/login$"))


def test_a_viewer_sees_only_their_org_and_a_readable_refusal(
    page: Page, platform: Platform
) -> None:
    org_id = platform.new_org("viewer-org")
    platform.new_org("not-viewers-org")
    platform.add_member(org_id, "vera@console.test", "viewer", "vera-password-1")
    sign_in(page, "vera@console.test", "vera-password-1")
    expect(page.get_by_role("link", name="viewer-org", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="not-viewers-org", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)  # platform admins
    page.get_by_role("link", name="viewer-org", exact=True).click()
    page.get_by_label("Key name").fill("nope")
    page.get_by_role("button", name="Create key").click()  # the same Rego policy refuses
    expect(page.get_by_role("alert")).to_contain_text("Your role does not allow key.create")
    refused = platform.api(
        "GET", "/admin/v1/audit", params={"action": "key.create", "org_id": org_id}
    ).json()["data"]
    assert [(r["actor_email"], r["outcome"].split(":")[0]) for r in refused] == [
        ("vera@console.test", "failure")
    ]


def test_first_load_stays_under_300_kb_of_gzipped_js(page: Page) -> None:
    sizes: dict[str, int] = {}

    def measure(response: object) -> None:
        url: str = response.url  # type: ignore[attr-defined]
        if url.endswith(".js"):
            sizes[url] = len(gzip.compress(response.body()))  # type: ignore[attr-defined]

    page.on("response", measure)
    sign_in(page)
    page.wait_for_load_state("networkidle")
    assert sizes, "no script loaded"
    assert sum(sizes.values()) < FIRST_LOAD_JS_BUDGET, sizes
