"""What `make run` prints once it serves: where it is, how to log in, what to do next, then
the local model's progress (each quarter of the first start's compile, with the time left)
and a line when it becomes ready (or fails)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TextIO

import uvicorn

from aistrale_platform.admin import AdminCredentials
from aistrale_platform.dispatch import Component
from aistrale_platform.localmodel.component import LocalModel
from aistrale_platform.localmodel.status import LocalModelStatus, State
from aistrale_platform.settings import Settings

NEXT_STEPS = """
AISTRALE is up on {base}
  start here:  {base}/   (links to the API docs, the console and /ready)
  health:      curl {base}/ready
  admin:       {admin}
  local model: {model}
  next: README.md, "First hour" (every command there uses ${{AISTRALE_PORT:-8080}}):
    uv run aistrale login --email {email}      # the password above; 15-minute token, refreshed
    uv run aistrale orgs create demo
    uv run aistrale keys create <org_id> laptop
    then any OpenAI SDK with base_url="{base}/v1" and api_key=<the sk-… key>
"""
PROGRESS_STEPS = 4  # a line at each quarter of the compile


async def announce(
    server: uvicorn.Server,
    settings: Settings,
    admin: AdminCredentials | None,
    components: Sequence[Component],
    out: TextIO,
) -> None:
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)
    local = next((c.status for c in components if isinstance(c, LocalModel)), None)
    base = f"http://{settings.host}:{settings.port}"
    print(_next_steps(base, admin, local), file=out, flush=True)
    if local is not None and local.state is not State.DISABLED:
        await _announce_model(base, local, out)


def _next_steps(base: str, admin: AdminCredentials | None, local: LocalModelStatus | None) -> str:
    return NEXT_STEPS.format(
        base=base,
        admin=_admin_line(admin),
        email=admin.email if admin else "<AISTRALE_ADMIN_EMAIL>",
        model=_model_line(base, local),
    )


def _admin_line(admin: AdminCredentials | None) -> str:
    if admin is None:
        return "none configured (set AISTRALE_ADMIN_EMAIL and AISTRALE_ADMIN_PASSWORD)"
    if admin.stored_in is None:
        return f"{admin.email} (password from AISTRALE_ADMIN_PASSWORD)"
    secret = admin.password.get_secret_value()
    return f"{admin.email} / {secret}   (generated once, kept in {admin.stored_in})"


def _model_line(base: str, local: LocalModelStatus | None) -> str:
    if local is None or local.state is State.DISABLED:
        return "off (AISTRALE_LOCAL_MODEL=0); add models to models.yaml"
    return (
        f"{local.model} starting in the background at {local.base_url} (the first start on "
        f"a machine compiles llama.cpp: about 5 min; see docs/local-model.md); "
        f"progress: curl {base}/ready"
    )


async def _announce_model(base: str, local: LocalModelStatus, out: TextIO) -> None:
    progress = asyncio.create_task(announce_progress(local, out))
    try:
        await local.wait_for(State.READY, State.FAILED, State.STOPPED)
    finally:
        progress.cancel()
    if local.state is State.READY:
        line = (
            f'local model "{local.model}" is ready ({local.detail}): '
            f"POST {base}/v1/chat/completions (docs/local-model.md)"
        )
    else:
        line = f'local model "{local.model}" is not available: {local.detail}'
    print(line, file=out, flush=True)


async def announce_progress(local: LocalModelStatus, out: TextIO, poll_s: float = 1.0) -> None:
    """One line per quarter of the install, with the time left: the terminal says the wait
    is expected and how long it is, without anyone asking /ready."""
    said = 0
    while said < PROGRESS_STEPS:
        await asyncio.sleep(poll_s)
        if local.state is not State.INSTALLING or local.progress is None:
            continue
        quarter = int(local.progress * PROGRESS_STEPS)
        if quarter > said and local.eta_s is not None:
            said = quarter
            minutes = max(1, round(local.eta_s / 60))
            print(
                f"local model: installing, {round(local.progress * 100)}% of the compile, "
                f"about {minutes} min left (first start only)",
                file=out,
                flush=True,
            )
