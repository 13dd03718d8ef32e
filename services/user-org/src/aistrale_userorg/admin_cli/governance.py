"""`aistrale prompts ...` and `aistrale guardrails ...`: prompt templates and PII guardrails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from aistrale_userorg.admin_cli import render
from aistrale_userorg.admin_cli.client import AdminClient, CliError, CliSettings

prompts = typer.Typer(
    help="Prompt templates ({{variable}} placeholders; each update is a new version).",
    no_args_is_help=True,
)
guardrails = typer.Typer(help="PII guardrails.", no_args_is_help=True)
PROMPT_COLUMNS = ("id", "name", "latest_version", "variables", "model", "updated_at")
Messages = Annotated[
    list[str] | None,
    typer.Option(
        "--message", "-m", help="role=content, repeatable, in order (e.g. system='You help {{x}}')"
    ),
]
MessagesFile = Annotated[
    Path | None, typer.Option(help="A JSON file: a list of {role, content} messages")
]
Json = Annotated[bool, typer.Option("--json", help="Print every field as JSON")]


def _call(method: str, path: str, **kwargs: Any) -> Any:
    return AdminClient(CliSettings()).request(method, path, **kwargs)


def _messages(messages: list[str] | None, file: Path | None) -> list[dict[str, str]]:
    if file is not None:
        loaded = json.loads(file.read_text())
        if not isinstance(loaded, list):
            raise CliError(f"{file}: a JSON list of messages is expected")
        return loaded
    if not messages:
        raise CliError("give the template's messages: --message role=content or --messages-file")
    out = []
    for item in messages:
        role, sep, content = item.partition("=")
        if not sep:
            raise CliError(f"--message {item!r}: expected role=content")
        out.append({"role": role.strip(), "content": content})
    return out


def _path(org_id: str, prompt_id: str | None = None) -> str:
    return f"/admin/v1/orgs/{org_id}/prompts" + (f"/{prompt_id}" if prompt_id else "")


@prompts.command("create")
def prompts_create(
    org_id: str,
    name: str,
    message: Messages = None,
    messages_file: MessagesFile = None,
    model: Annotated[
        str | None, typer.Option(help="The model used when a request names none")
    ] = None,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    body = {"name": name, "messages": _messages(message, messages_file), "model": model}
    render.record(_call("POST", _path(org_id), json={**body, "description": description}))


@prompts.command("list")
def prompts_list(
    org_id: str,
    archived: Annotated[bool, typer.Option(help="Include archived templates")] = False,
    json_: Json = False,
) -> None:
    rows = _call("GET", _path(org_id), params={"archived": archived})["data"]
    if json_:
        render.as_json(rows)
    else:
        render.table(rows, PROMPT_COLUMNS, "Prompt templates")


@prompts.command("show")
def prompts_show(
    org_id: str,
    prompt_id: str,
    version: Annotated[int | None, typer.Option(help="A version; the latest if unset")] = None,
) -> None:
    params = {"version": version} if version is not None else None
    render.as_json(_call("GET", _path(org_id, prompt_id), params=params))


@prompts.command("update")
def prompts_update(
    org_id: str,
    prompt_id: str,
    message: Messages = None,
    messages_file: MessagesFile = None,
    model: Annotated[str | None, typer.Option()] = None,
) -> None:
    body = {"messages": _messages(message, messages_file), "model": model}
    render.record(_call("PUT", _path(org_id, prompt_id), json=body))


@prompts.command("archive")
def prompts_archive(org_id: str, prompt_id: str) -> None:
    _call("DELETE", _path(org_id, prompt_id))
    render.console.print(f"archived {prompt_id}")


@guardrails.command("set")
def guardrails_set(
    org_id: str,
    action: Annotated[str, typer.Argument(help="off, redact or block")],
    entity: Annotated[
        list[str] | None, typer.Option("--entity", help="Repeatable; every type if unset")
    ] = None,
    outputs: Annotated[bool, typer.Option(help="Also redact non-streamed answers")] = False,
) -> None:
    pii: dict[str, Any] = {"action": action, "outputs": outputs}
    if entity:
        pii["entities"] = entity
    render.as_json(_call("PUT", f"/admin/v1/orgs/{org_id}/guardrails", json={"pii": pii}))


@guardrails.command("get")
def guardrails_get(org_id: str) -> None:
    render.as_json(_call("GET", f"/admin/v1/orgs/{org_id}/guardrails"))
