"""What `make run` prints once it serves: where it is, how to log in, what to do next, and
a second line when the local model becomes ready (or fails)."""

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
  health:      curl {base}/ready
  admin:       {admin}
  admin docs:  {base}/admin/v1/docs
  local model: {model}
  next (README.md, "First hour"):
    TOKEN=$(curl -s {base}/admin/v1/auth/token -d username={email} \\
            -d 'password=<password>' | jq -r .access_token)
    ORG=$(curl -s {base}/admin/v1/orgs -H "authorization: Bearer $TOKEN" \\
          -H 'content-type: application/json' -d '{{"name": "demo"}}' | jq -r .id)
    KEY=$(curl -s {base}/admin/v1/orgs/$ORG/keys -H "authorization: Bearer $TOKEN" \\
          -H 'content-type: application/json' -d '{{"name": "laptop"}}' | jq -r .key)
    then any OpenAI SDK with base_url="{base}/v1" and api_key=$KEY
"""


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
        f"{local.model} starting in the background at {local.base_url} (the first run "
        f"installs it, see docs/local-model.md); progress: curl {base}/ready"
    )


async def _announce_model(base: str, local: LocalModelStatus, out: TextIO) -> None:
    await local.wait_for(State.READY, State.FAILED, State.STOPPED)
    if local.state is State.READY:
        line = (
            f'local model "{local.model}" is ready ({local.detail}): POST {base}/v1/completions '
            "works well; chat gives base-model quality (docs/local-model.md)"
        )
    else:
        line = f'local model "{local.model}" is not available: {local.detail}'
    print(line, file=out, flush=True)
