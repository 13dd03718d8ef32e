"""`aistrale`: the admin CLI for the common tasks (login, orgs, keys, budgets, audit, prompts,
guardrails)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from aistrale_userorg.admin_cli import render
from aistrale_userorg.admin_cli.client import AdminClient, CliError, CliSettings
from aistrale_userorg.admin_cli.governance import guardrails, prompts

HELP = """Administer an AISTRALE platform.

\b
Environment:
  AISTRALE_URL       the platform (default http://127.0.0.1:$AISTRALE_PORT)
  AISTRALE_PORT      the local port `make run` serves on (default 8080)
  AISTRALE_CLI_HOME  where the session is kept (default ~/.config/aistrale, mode 0600)
A saved session remembers its platform; `aistrale login` picks it anew."""

app = typer.Typer(help=HELP, no_args_is_help=True)
orgs = typer.Typer(help="Organizations.", no_args_is_help=True)
keys = typer.Typer(help="API keys.", no_args_is_help=True)
budgets = typer.Typer(
    help="Budgets (amounts in USD, stored as integer micro-USD).", no_args_is_help=True
)
members = typer.Typer(help="Org members and roles.", no_args_is_help=True)
audit = typer.Typer(help="The audit log.", no_args_is_help=True)
for sub, name in (
    (orgs, "orgs"),
    (keys, "keys"),
    (budgets, "budgets"),
    (members, "members"),
    (audit, "audit"),
    (prompts, "prompts"),
    (guardrails, "guardrails"),
):
    app.add_typer(sub, name=name)

ORG_COLUMNS = ("id", "name", "role", "rpm_limit", "tpm_limit", "created_at")
KEY_COLUMNS = (
    "id",
    "name",
    "prefix",
    "status",
    "allowed_models",
    "rpm_limit",
    "tpm_limit",
    "tags",
    "expires_at",
    "last_used_at",
)
Period = Annotated[str, typer.Option(help="day, month or total")]
Tags = Annotated[list[str] | None, typer.Option(help="Routing tag (repeat)")]
Json = Annotated[bool, typer.Option("--json", help="Print the rows as JSON (every field)")]


def client() -> AdminClient:
    return AdminClient(CliSettings())


def call(method: str, path: str, **kwargs: Any) -> Any:
    return client().request(method, path, **kwargs)


def listing(
    rows: list[dict[str, Any]], columns: tuple[str, ...], title: str, *, as_json: bool
) -> None:
    if as_json:
        render.as_json(rows)
    else:
        render.table(rows, columns, title)


@app.command()
def login(
    email: Annotated[str | None, typer.Option(help="Your email")] = None,
    password: Annotated[str | None, typer.Option(help="Prompted when omitted")] = None,
    api_key: Annotated[str | None, typer.Option(help="An admin API key (ak-...) instead")] = None,
    totp: Annotated[
        str | None, typer.Option(help="Your TOTP or recovery code, once MFA is enabled")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Platform URL (or AISTRALE_URL / AISTRALE_PORT)")
    ] = None,
) -> None:
    """Sign in and keep the session under AISTRALE_CLI_HOME."""
    settings = CliSettings()
    if url:
        settings = settings.model_copy(update={"url": url})
    admin = AdminClient(settings)
    admin.http.base_url = settings.base_url  # a new login may target another platform
    if api_key:
        form = {"grant_type": "client_credentials", "client_secret": api_key}
    else:
        email = email or typer.prompt("Email")
        password = password or typer.prompt("Password", hide_input=True)
        form = {"grant_type": "password", "username": email, "password": password}
        if totp:
            form["totp"] = totp
    admin.login(form)
    render.console.print(f"Signed in to {settings.base_url}")


@app.command()
def logout() -> None:
    """End the session."""
    client().logout()
    render.console.print("Signed out")


@app.command()
def whoami() -> None:
    """Who the session belongs to, and its roles."""
    me = call("GET", "/admin/v1/users/me")
    render.record(
        {
            "id": me["id"],
            "email": me["email"],
            "platform_admin": me["platform_admin"],
            "orgs": [f"{o['org_id']} ({o['role']})" for o in me["orgs"]],
        }
    )


@orgs.command("list")
def orgs_list(limit: int = 50, offset: int = 0, json: Json = False) -> None:
    page = call("GET", "/admin/v1/orgs", params={"limit": limit, "offset": offset})
    listing(page["data"], ORG_COLUMNS, "Organizations", as_json=json)


@orgs.command("create")
def orgs_create(name: str, owner_email: Annotated[str | None, typer.Option()] = None) -> None:
    body = {"name": name, **({"owner_email": owner_email} if owner_email else {})}
    render.record(call("POST", "/admin/v1/orgs", json=body))


@orgs.command("update")
def orgs_update(
    org_id: str,
    name: Annotated[str | None, typer.Option()] = None,
    rpm: Annotated[int | None, typer.Option(help="Org-wide requests per minute")] = None,
    tpm: Annotated[int | None, typer.Option(help="Org-wide tokens per minute")] = None,
    tag: Tags = None,
    clear_tags: Annotated[bool, typer.Option(help="Remove the org's routing tags")] = False,
) -> None:
    body: dict[str, Any] = {
        k: v for k, v in (("name", name), ("rpm_limit", rpm), ("tpm_limit", tpm)) if v
    }
    if tag or clear_tags:
        body["tags"] = tag or []
    render.record(call("PATCH", f"/admin/v1/orgs/{org_id}", json=body))


@orgs.command("delete")
def orgs_delete(org_id: str, yes: Annotated[bool, typer.Option("--yes")] = False) -> None:
    if not yes:
        typer.confirm(f"Delete org {org_id} with all its keys?", abort=True)
    call("DELETE", f"/admin/v1/orgs/{org_id}")
    render.console.print(f"Deleted {org_id}")


@keys.command("list")
def keys_list(org_id: str, limit: int = 50, offset: int = 0, json: Json = False) -> None:
    page = call("GET", f"/admin/v1/orgs/{org_id}/keys", params={"limit": limit, "offset": offset})
    listing(page["data"], KEY_COLUMNS, "API keys", as_json=json)


@keys.command("create")
def keys_create(
    org_id: str,
    name: str,
    rpm: Annotated[int | None, typer.Option()] = None,
    tpm: Annotated[int | None, typer.Option()] = None,
    model: Annotated[list[str] | None, typer.Option(help="Allowed model (repeat)")] = None,
    expires_at: Annotated[str | None, typer.Option(help="ISO 8601, UTC")] = None,
    tag: Tags = None,
) -> None:
    body: dict[str, Any] = {
        "name": name,
        "rpm_limit": rpm,
        "tpm_limit": tpm,
        "allowed_models": model or None,
        "expires_at": expires_at,
        "tags": tag or [],
    }
    created = call("POST", f"/admin/v1/orgs/{org_id}/keys", json=body)
    render.record({k: created[k] for k in ("id", "name", "prefix", "status")})
    render.console.print("Key (shown once, store it now):", style="bold")
    render.console.print(created["key"], soft_wrap=True)


@keys.command("tags")
def keys_tags(org_id: str, key_id: str, tag: Tags = None) -> None:
    """Sets the key's routing tags to the --tag options given (none: removes them)."""
    body = {"tags": tag or []}
    shown = call("PATCH", f"/admin/v1/orgs/{org_id}/keys/{key_id}", json=body)
    render.record({k: shown[k] for k in ("id", "name", "tags")})


@keys.command("revoke")
def keys_revoke(org_id: str, key_id: str) -> None:
    call("DELETE", f"/admin/v1/orgs/{org_id}/keys/{key_id}")
    render.console.print(f"Revoked {key_id}")


def _budget_path(org_id: str, key_id: str | None) -> str:
    return f"/admin/v1/orgs/{org_id}" + (f"/keys/{key_id}" if key_id else "") + "/budget"


@budgets.command("set")
def budgets_set(
    org_id: str,
    usd: Annotated[float, typer.Argument(help="Limit in USD, e.g. 25.50")],
    period: Period = "month",
    key: Annotated[str | None, typer.Option(help="A key's own budget")] = None,
) -> None:
    body = {"limit_micro_usd": round(usd * 1_000_000), "period": period}
    shown = call("PUT", _budget_path(org_id, key), json=body)
    render.record({**shown, "limit": render.usd(shown["limit_micro_usd"])})


@budgets.command("get")
def budgets_get(org_id: str, key: Annotated[str | None, typer.Option()] = None) -> None:
    shown = call("GET", _budget_path(org_id, key))
    render.record({**shown, "limit": render.usd(shown["limit_micro_usd"])})


@members.command("list")
def members_list(org_id: str, json: Json = False) -> None:
    page = call("GET", f"/admin/v1/orgs/{org_id}/members")
    listing(page["data"], ("user_id", "email", "role", "created_at"), "Members", as_json=json)


@members.command("add")
def members_add(org_id: str, email: str, role: str) -> None:
    """Invites EMAIL; hand the token to the invitee, who runs `aistrale members accept`."""
    body = {"email": email, "role": role}
    render.record(call("POST", f"/admin/v1/orgs/{org_id}/members", json=body))


@members.command("accept")
def members_accept(
    token: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="Yours, or new")],
) -> None:
    """Accepts an invitation (no sign-in needed): joins with your password, or creates the
    account with this password when the email has none yet."""
    body = {"token": token, "password": password}
    render.record(call("POST", "/admin/v1/invitations/accept", json=body))


@audit.command("list")
def audit_list(
    org: Annotated[str | None, typer.Option(help="Only this org")] = None,
    action: Annotated[str | None, typer.Option()] = None,
    limit: int = 50,
    json: Json = False,
) -> None:
    params = {k: v for k, v in (("org_id", org), ("action", action), ("limit", limit)) if v}
    page = call("GET", "/admin/v1/audit", params=params)
    columns = ("seq", "occurred_at", "actor_email", "action", "target", "outcome", "source_ip")
    listing(page["data"], columns, "Audit log", as_json=json)


@audit.command("verify")
def audit_verify() -> None:
    result = call("GET", "/admin/v1/audit/verify")
    render.record(result)
    if not result["ok"]:
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except CliError as exc:
        render.console.print(f"error: {exc}", style="red")
        raise SystemExit(1) from exc
